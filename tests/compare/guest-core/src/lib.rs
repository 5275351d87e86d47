//! The goodwill plugin's valuation as a plain wasm core module: the host
//! writes the complaint's JSON into this module's memory, the module parses
//! it, values the customer and writes its answer as JSON. This is how
//! plugin systems without the component model (Extism among them) pass
//! data; Redress passes typed records instead. The arithmetic mirrors
//! `plugins/goodwill/src/lib.rs` (`value`), and the comparison crate's
//! tests check that both give the same answers.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Complaint<'a> {
    #[serde(borrow, default)]
    text: std::borrow::Cow<'a, str>,
    #[serde(default)]
    customer: Customer,
}

#[derive(Deserialize, Default)]
struct Customer {
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    lifetime_value: f64,
    #[serde(default)]
    tenure_days: i64,
    #[serde(default)]
    prior_complaints: i64,
    #[serde(default)]
    prior_goodwill: f64,
}

#[derive(Serialize)]
struct Answer {
    annual_value: f64,
    value_at_risk: f64,
    segment: &'static str,
    offer: Option<Offer>,
}

#[derive(Serialize)]
struct Offer {
    kind: &'static str,
    value: f64,
}

const RETAINED_UNRESOLVED: f64 = 0.20;
const RETAINED_RESOLVED: f64 = 0.54;

fn value(customer: &Customer, anger: f64) -> (f64, f64, &'static str) {
    let years = (customer.tenure_days.max(0) as f64 / 365.0).max(1.0);
    let annual_value = customer.lifetime_value.max(0.0) / years;
    let repeat = (customer.prior_complaints.clamp(0, 4) as f64) / 4.0;
    let pressure = 1.0 + 0.5 * anger + 0.5 * repeat;
    let value_at_risk = annual_value * (RETAINED_RESOLVED - RETAINED_UNRESOLVED) * pressure;
    let segment = if customer.tier.as_deref() == Some("key") || annual_value >= 10_000.0 {
        "key"
    } else if customer.tenure_days < 90 {
        "new"
    } else if annual_value >= 1_000.0 {
        "valuable"
    } else {
        "regular"
    };
    (annual_value, value_at_risk, segment)
}

fn cents(x: f64) -> f64 {
    ((x * 100.0) + 0.5) as i64 as f64 / 100.0
}

fn answer(complaint: &Complaint<'_>) -> Answer {
    let (annual_value, value_at_risk, segment) = value(&complaint.customer, 0.0);
    let recently_compensated = complaint.customer.prior_goodwill > annual_value * 0.2;
    let offer = cents((value_at_risk * 0.05).min(100.0));
    Answer {
        annual_value: cents(annual_value),
        value_at_risk: cents(value_at_risk),
        segment,
        offer: (offer >= 1.0 && !recently_compensated).then_some(Offer {
            kind: "coupon",
            value: offer,
        }),
    }
}

static mut OUTPUT: Vec<u8> = Vec::new();

/// Room for `len` input bytes; the host writes the complaint there.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len);
    let pointer = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    pointer
}

/// Frees what `alloc` gave.
///
/// # Safety
/// `pointer` and `len` come from one call of `alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dealloc(pointer: *mut u8, len: usize) {
    drop(unsafe { Vec::from_raw_parts(pointer, 0, len) });
}

/// Values the complaint at `pointer..pointer + len` (JSON); returns the
/// answer's address and length packed as `address << 32 | length`, or 0
/// when the input is not a complaint.
///
/// # Safety
/// The input lies inside this module's memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn goodwill_json(pointer: *const u8, len: usize) -> u64 {
    let input = unsafe { std::slice::from_raw_parts(pointer, len) };
    let Ok(complaint) = serde_json::from_slice::<Complaint<'_>>(input) else {
        return 0;
    };
    let _ = complaint.text.len();
    #[allow(static_mut_refs)]
    let output = unsafe { &mut OUTPUT };
    output.clear();
    if serde_json::to_writer(&mut *output, &answer(&complaint)).is_err() {
        return 0;
    }
    ((output.as_ptr() as u64) << 32) | output.len() as u64
}

/// The valuation alone, on numbers: the floor of what a call can cost.
#[unsafe(no_mangle)]
pub extern "C" fn goodwill_scalars(
    lifetime_value: f64,
    tenure_days: i64,
    prior_complaints: i64,
) -> f64 {
    let customer = Customer {
        lifetime_value,
        tenure_days,
        prior_complaints,
        ..Customer::default()
    };
    cents(value(&customer, 0.0).1)
}
