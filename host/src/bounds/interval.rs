//! Closed intervals of numbers with outward arithmetic: the result of an
//! operation contains every result of the operation on members.

/// `[lo, hi]`; either end may be infinite. Never empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

/// `a * b` for interval ends, where an infinite end times zero is zero
/// (the values it stands for are finite).
fn end_product(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 { 0.0 } else { a * b }
}

impl Interval {
    pub const ALL: Interval = Interval {
        lo: f64::NEG_INFINITY,
        hi: f64::INFINITY,
    };
    pub const NON_NEGATIVE: Interval = Interval {
        lo: 0.0,
        hi: f64::INFINITY,
    };

    pub fn new(lo: f64, hi: f64) -> Self {
        Interval { lo, hi }
    }

    pub fn point(value: f64) -> Self {
        Interval {
            lo: value,
            hi: value,
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        self.lo <= value && value <= self.hi
    }

    pub fn is_point(&self) -> bool {
        self.lo == self.hi
    }

    pub fn hull(&self, other: &Interval) -> Interval {
        Interval::new(self.lo.min(other.lo), self.hi.max(other.hi))
    }

    pub fn intersect(&self, other: &Interval) -> Option<Interval> {
        let lo = self.lo.max(other.lo);
        let hi = self.hi.min(other.hi);
        (lo <= hi).then_some(Interval { lo, hi })
    }

    pub fn add(&self, other: &Interval) -> Interval {
        Interval::new(self.lo + other.lo, self.hi + other.hi).or_all()
    }

    pub fn sub(&self, other: &Interval) -> Interval {
        Interval::new(self.lo - other.hi, self.hi - other.lo).or_all()
    }

    pub fn mul(&self, other: &Interval) -> Interval {
        let products = [
            end_product(self.lo, other.lo),
            end_product(self.lo, other.hi),
            end_product(self.hi, other.lo),
            end_product(self.hi, other.hi),
        ];
        Interval::new(
            products.iter().copied().fold(f64::INFINITY, f64::min),
            products.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
        .or_all()
    }

    /// `None` when the divisor may be zero: the division may fail (ints)
    /// or be infinite (doubles), and nothing bounds the quotient.
    pub fn div(&self, other: &Interval) -> Option<Interval> {
        if other.contains(0.0) {
            return None;
        }
        let inverse = Interval::new(1.0 / other.hi, 1.0 / other.lo);
        Some(self.mul(&inverse))
    }

    pub fn neg(&self) -> Interval {
        Interval::new(-self.hi, -self.lo)
    }

    pub fn min(&self, other: &Interval) -> Interval {
        Interval::new(self.lo.min(other.lo), self.hi.min(other.hi))
    }

    pub fn max(&self, other: &Interval) -> Interval {
        Interval::new(self.lo.max(other.lo), self.hi.max(other.hi))
    }

    /// Truncation toward zero, as `int()` does.
    pub fn trunc(&self) -> Interval {
        Interval::new(self.lo.trunc(), self.hi.trunc())
    }

    /// A NaN end (`inf - inf`) widens to the whole line.
    fn or_all(self) -> Interval {
        Interval {
            lo: if self.lo.is_nan() {
                f64::NEG_INFINITY
            } else {
                self.lo
            },
            hi: if self.hi.is_nan() {
                f64::INFINITY
            } else {
                self.hi
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_unbounded_ends_stay_sound() {
        let value = Interval::NON_NEGATIVE.mul(&Interval::point(0.05));
        assert_eq!(value, Interval::NON_NEGATIVE);
        let value = Interval::new(-2.0, 3.0).mul(&Interval::new(-1.0, 4.0));
        assert_eq!(value, Interval::new(-8.0, 12.0));
        assert_eq!(
            Interval::point(0.0).mul(&Interval::ALL),
            Interval::point(0.0)
        );
    }

    #[test]
    fn division_by_a_range_holding_zero_is_unbounded() {
        assert!(
            Interval::point(1.0)
                .div(&Interval::new(-1.0, 1.0))
                .is_none()
        );
        assert_eq!(
            Interval::new(2.0, 4.0).div(&Interval::new(1.0, 2.0)),
            Some(Interval::new(1.0, 4.0))
        );
    }

    #[test]
    fn min_and_max_bound_both_ends() {
        let capped = Interval::point(200.0).min(&Interval::NON_NEGATIVE);
        assert_eq!(capped, Interval::new(0.0, 200.0));
        let floor = Interval::point(20.0).max(&capped);
        assert_eq!(floor, Interval::new(20.0, 200.0));
    }
}
