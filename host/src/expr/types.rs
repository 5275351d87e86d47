//! Static types of condition expressions, checked when rules load.

use std::fmt;

/// The type of an expression, known before any event arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Double,
    String,
    Duration,
    Timestamp,
    List(Box<Type>),
    Map,
    Null,
    /// Known only at run time (`attrs` values). Operations on it are
    /// checked when the event arrives; a mismatch means "no match".
    Dyn,
}

impl Type {
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Double)
    }

    pub fn is_dyn(&self) -> bool {
        matches!(self, Type::Dyn)
    }

    /// Whether a value of `self` may be compared with `other` by `==`.
    pub fn comparable_for_equality(&self, other: &Type) -> bool {
        self.is_dyn()
            || other.is_dyn()
            || self == other
            || (self.is_numeric() && other.is_numeric())
            || matches!((self, other), (Type::List(_), Type::List(_)))
    }

    /// Whether `< <= > >=` are defined between `self` and `other`.
    pub fn orderable_with(&self, other: &Type) -> bool {
        if self.is_dyn() || other.is_dyn() {
            return true;
        }
        (self.is_numeric() && other.is_numeric())
            || (self == other
                && matches!(
                    self,
                    Type::String | Type::Duration | Type::Timestamp | Type::Bool
                ))
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Double => f.write_str("double"),
            Type::String => f.write_str("string"),
            Type::Duration => f.write_str("duration"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::List(element) => write!(f, "list({element})"),
            Type::Map => f.write_str("map"),
            Type::Null => f.write_str("null"),
            Type::Dyn => f.write_str("dyn"),
        }
    }
}

/// A plugin output's type in its manifest's words (`number`, `text`,
/// `flag`, `list`), for messages about plugin outputs.
pub fn manifest_word(ty: &Type) -> &'static str {
    match ty {
        Type::Double | Type::Int => "number",
        Type::String => "text",
        Type::Bool => "flag",
        Type::List(_) => "list",
        _ => "value",
    }
}
