//! Redress: a rules engine for customer complaints.

pub mod annotation;
pub mod diagnostic;
pub mod event;
pub mod expr;
pub mod suggest;
pub mod time;
pub mod rules;
