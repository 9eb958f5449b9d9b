//! Orders: quantities, basket lines and totals per producer and per VAT rate, all in cents.

use super::Cents;
use super::state::states;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The most of one product a member can order at once; far above any household's week.
pub const MAX_QUANTITY: i64 = 999;
/// The most lines one order may have.
pub const MAX_LINES: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    PaymentFailed,
    Cancelled,
    Expired,
}

states!(OrderStatus {
    PendingPayment => "pending_payment" <= [],
    Paid => "paid" <= [PendingPayment],
    PaymentFailed => "payment_failed" <= [PendingPayment],
    Cancelled => "cancelled" <= [PendingPayment, Paid],
    Expired => "expired" <= [PendingPayment],
});

impl OrderStatus {
    /// Orders that hold stock: waiting for payment or paid.
    pub fn holds_stock(self) -> bool {
        matches!(self, OrderStatus::PendingPayment | OrderStatus::Paid)
    }
}

/// Where one line of a paid order stands after the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineStatus {
    /// To be picked and handed out.
    Ordered,
    /// Its producer's minimum was not reached: not delivered, refunded.
    BelowMinimum,
}

states!(LineStatus {
    Ordered => "ordered" <= [],
    BelowMinimum => "below_minimum" <= [Ordered],
});

/// A quantity a member typed: a whole number from 1 to [`MAX_QUANTITY`].
pub fn parse_quantity(input: &str) -> Result<i64, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        return Err("error.required");
    }
    match s.parse::<i64>() {
        Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Ok(q),
        Ok(_) => Err("error.quantity_range"),
        Err(_) => Err("error.quantity"),
    }
}

/// Why a quantity typed in the shop cannot go into the basket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddRefusal {
    /// Not a whole number in range: the message key says which.
    Quantity(&'static str),
    /// More than is left: `left` units remain, `in_basket` of them already in the basket.
    TooMany { left: i64, in_basket: i64 },
}

/// A quantity typed in the shop, added to `in_basket`, checked against what is `left` (none: no cap).
pub fn check_addition(typed: &str, in_basket: i64, left: Option<i64>) -> Result<i64, AddRefusal> {
    let quantity = parse_quantity(typed).map_err(AddRefusal::Quantity)?;
    let after = in_basket + quantity;
    if after > MAX_QUANTITY {
        return Err(AddRefusal::Quantity("error.quantity_range"));
    }
    match left {
        Some(left) if after > left => Err(AddRefusal::TooMany {
            left: left.max(0),
            in_basket,
        }),
        _ => Ok(quantity),
    }
}

/// Basket lines with the same offer merged, in offer order; refuses empty or oversized baskets.
pub fn merge_lines(lines: &[(i64, i64)]) -> Result<Vec<(i64, i64)>, &'static str> {
    if lines.is_empty() {
        return Err("error.empty_basket");
    }
    let mut merged: BTreeMap<i64, i64> = BTreeMap::new();
    for &(offer, qty) in lines {
        if !(1..=MAX_QUANTITY).contains(&qty) {
            return Err("error.quantity_range");
        }
        let q = merged.entry(offer).or_default();
        *q += qty;
        if *q > MAX_QUANTITY {
            return Err("error.quantity_range");
        }
    }
    if merged.len() > MAX_LINES {
        return Err("error.too_many_lines");
    }
    Ok(merged.into_iter().collect())
}

/// One priced line of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PricedLine {
    pub producer_id: i64,
    pub unit_price: Cents,
    pub quantity: i64,
    pub vat_rate_bps: i32,
}

impl PricedLine {
    pub fn amount(&self) -> Cents {
        Cents(self.unit_price.0 * self.quantity)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VatLine {
    pub rate_bps: i32,
    pub incl_vat: Cents,
    pub excl_vat: Cents,
    pub vat: Cents,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OrderTotals {
    pub total: Cents,
    /// Producer id → amount incl. VAT, in producer order.
    pub per_producer: Vec<(i64, Cents)>,
    /// One line per VAT rate: VAT-exclusive amounts are derived once per rate, half-up.
    pub vat: Vec<VatLine>,
}

pub fn totals(lines: &[PricedLine]) -> OrderTotals {
    let mut per_producer: BTreeMap<i64, i64> = BTreeMap::new();
    let mut per_rate: BTreeMap<i32, i64> = BTreeMap::new();
    for l in lines {
        *per_producer.entry(l.producer_id).or_default() += l.amount().0;
        *per_rate.entry(l.vat_rate_bps).or_default() += l.amount().0;
    }
    let vat = per_rate
        .into_iter()
        .map(|(rate_bps, incl)| {
            let excl = Cents(incl).excl_vat(rate_bps);
            VatLine {
                rate_bps,
                incl_vat: Cents(incl),
                excl_vat: excl,
                vat: Cents(incl - excl.0),
            }
        })
        .collect();
    OrderTotals {
        total: Cents(lines.iter().map(|l| l.amount().0).sum()),
        per_producer: per_producer
            .into_iter()
            .map(|(p, c)| (p, Cents(c)))
            .collect(),
        vat,
    }
}

/// What is left of an offer: the smaller of what its cap leaves and its product's shared stock;
/// `None` when neither limits it.
pub fn remaining(cap: Option<i64>, reserved: i64, shared: Option<i64>) -> Option<i64> {
    let own = cap.map(|c| (c - reserved).max(0));
    match (own, shared.map(|s| s.max(0))) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What a batch of orders takes from stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Per order, in the batch's order: served, or the first offer it found short.
    pub outcome: Vec<Result<(), i64>>,
    /// Units taken per offer by the orders served.
    pub taken: BTreeMap<i64, i64>,
    /// Units taken per product from the products' shared stocks.
    pub taken_shared: BTreeMap<i64, i64>,
}

/// The stocks some products share across every distribution they are offered in: units left per
/// product, and the product each offer of the batch draws on.
#[derive(Clone, Debug, Default)]
pub struct SharedStock {
    pub product_of: HashMap<i64, i64>,
    pub left: HashMap<i64, i64>,
}

impl SharedStock {
    /// The shared stock an offer draws on, if its product has one.
    fn pool(&self, offer: i64) -> Option<i64> {
        self.product_of
            .get(&offer)
            .copied()
            .filter(|p| self.left.contains_key(p))
    }
}

impl Allocation {
    /// What is left of `offer` after the batch: the smaller of its own cap and its product's stock.
    pub fn left_after(
        &self,
        offer: i64,
        left: &HashMap<i64, Option<i64>>,
        shared: &SharedStock,
    ) -> i64 {
        let own = left
            .get(&offer)
            .copied()
            .flatten()
            .map(|n| n - self.taken.get(&offer).copied().unwrap_or(0));
        let pooled = shared.pool(offer).map(|p| {
            shared.left.get(&p).copied().unwrap_or(0)
                - self.taken_shared.get(&p).copied().unwrap_or(0)
        });
        let n = match (own, pooled) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) if left.contains_key(&offer) => i64::MAX,
            (None, None) => 0,
        };
        n.max(0)
    }
}

/// Serves a batch of orders (each a list of `(offer, quantity)`) in arrival order from the units
/// `left` per offer (`None` when uncapped) and from the products' `shared` stocks: an order gets
/// all its lines or none, and an offer missing from `left` counts as sold out.
pub fn allocate(
    orders: &[&[(i64, i64)]],
    left: &HashMap<i64, Option<i64>>,
    shared: &SharedStock,
) -> Allocation {
    let mut remaining = left.clone();
    let mut pools = shared.left.clone();
    let mut taken = BTreeMap::new();
    let mut taken_shared = BTreeMap::new();
    let outcome = orders
        .iter()
        .map(|lines| {
            // Two lines may draw on one product's stock, so its need is summed first.
            let mut need: BTreeMap<i64, i64> = BTreeMap::new();
            for &(offer, quantity) in lines.iter() {
                if let Some(p) = shared.pool(offer) {
                    *need.entry(p).or_insert(0) += quantity;
                }
            }
            if let Some(&(short, _)) = lines.iter().find(|(offer, quantity)| {
                let own = match remaining.get(offer) {
                    None => false,
                    Some(None) => true,
                    Some(Some(n)) => n >= quantity,
                };
                let pooled = shared
                    .pool(*offer)
                    .is_none_or(|p| pools.get(&p).copied().unwrap_or(0) >= need[&p]);
                !(own && pooled)
            }) {
                return Err(short);
            }
            for &(offer, quantity) in lines.iter() {
                if let Some(Some(n)) = remaining.get_mut(&offer) {
                    *n -= quantity;
                }
                *taken.entry(offer).or_insert(0) += quantity;
            }
            for (p, n) in need {
                if let Some(left) = pools.get_mut(&p) {
                    *left -= n;
                }
                *taken_shared.entry(p).or_insert(0) += n;
            }
            Ok(())
        })
        .collect();
    Allocation {
        outcome,
        taken,
        taken_shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shop_addition_stays_within_what_is_left() {
        assert_eq!(check_addition("3", 0, Some(4)), Ok(3));
        assert_eq!(check_addition("2", 2, Some(4)), Ok(2));
        assert_eq!(
            check_addition("3", 2, Some(4)),
            Err(AddRefusal::TooMany {
                left: 4,
                in_basket: 2
            })
        );
        assert_eq!(check_addition("500", 0, None), Ok(500));
        assert_eq!(
            check_addition("500", 600, None),
            Err(AddRefusal::Quantity("error.quantity_range"))
        );
        assert_eq!(
            check_addition("deux", 0, Some(4)),
            Err(AddRefusal::Quantity("error.quantity"))
        );
    }

    #[test]
    fn quantities_are_whole_and_bounded() {
        assert_eq!(parse_quantity(" 3 "), Ok(3));
        assert_eq!(parse_quantity("0"), Err("error.quantity_range"));
        assert_eq!(parse_quantity("-2"), Err("error.quantity_range"));
        assert_eq!(parse_quantity("1000"), Err("error.quantity_range"));
        assert_eq!(parse_quantity("1.5"), Err("error.quantity"));
        assert_eq!(parse_quantity(""), Err("error.required"));
    }

    #[test]
    fn lines_merge_by_offer() {
        assert_eq!(
            merge_lines(&[(2, 1), (1, 2), (2, 3)]),
            Ok(vec![(1, 2), (2, 4)])
        );
        assert_eq!(merge_lines(&[]), Err("error.empty_basket"));
        assert_eq!(merge_lines(&[(1, 0)]), Err("error.quantity_range"));
        assert_eq!(
            merge_lines(&[(1, 600), (1, 600)]),
            Err("error.quantity_range")
        );
        let many: Vec<(i64, i64)> = (0..201).map(|i| (i, 1)).collect();
        assert_eq!(merge_lines(&many), Err("error.too_many_lines"));
    }

    #[test]
    fn totals_per_producer_and_vat_rate() {
        let lines = [
            PricedLine {
                producer_id: 2,
                unit_price: Cents(290),
                quantity: 2,
                vat_rate_bps: 550,
            },
            PricedLine {
                producer_id: 1,
                unit_price: Cents(1200),
                quantity: 1,
                vat_rate_bps: 2000,
            },
            PricedLine {
                producer_id: 2,
                unit_price: Cents(350),
                quantity: 1,
                vat_rate_bps: 550,
            },
        ];
        let t = totals(&lines);
        assert_eq!(t.total, Cents(2130));
        assert_eq!(t.per_producer, vec![(1, Cents(1200)), (2, Cents(930))]);
        assert_eq!(
            t.vat[0],
            VatLine {
                rate_bps: 550,
                incl_vat: Cents(930),
                excl_vat: Cents(882),
                vat: Cents(48)
            }
        );
        assert_eq!(
            t.vat[1],
            VatLine {
                rate_bps: 2000,
                incl_vat: Cents(1200),
                excl_vat: Cents(1000),
                vat: Cents(200)
            }
        );
        let sum: i64 = t.vat.iter().map(|v| v.incl_vat.0).sum();
        assert_eq!(sum, t.total.0);
    }

    fn left(entries: &[(i64, Option<i64>)]) -> HashMap<i64, Option<i64>> {
        entries.iter().copied().collect()
    }

    fn allocate(orders: &[&[(i64, i64)]], left: &HashMap<i64, Option<i64>>) -> Allocation {
        super::allocate(orders, left, &SharedStock::default())
    }

    #[test]
    fn what_is_left_is_the_smaller_of_cap_and_shared_stock() {
        assert_eq!(remaining(None, 5, None), None);
        assert_eq!(remaining(Some(10), 4, None), Some(6));
        assert_eq!(remaining(None, 4, Some(3)), Some(3));
        assert_eq!(remaining(Some(10), 4, Some(8)), Some(6));
        assert_eq!(remaining(Some(3), 4, Some(8)), Some(0));
    }

    #[test]
    fn a_shared_stock_limits_every_offer_of_its_product() {
        // Offers 1 and 2 are one product (9) in two hives, with 3 units between them.
        let shared = SharedStock {
            product_of: HashMap::from([(1, 9), (2, 9), (3, 8)]),
            left: HashMap::from([(9, 3)]),
        };
        let stock = left(&[(1, Some(10)), (2, None), (3, None)]);
        let a = super::allocate(&[&[(1, 2)], &[(2, 2)], &[(2, 1), (3, 5)]], &stock, &shared);
        assert_eq!(a.outcome, vec![Ok(()), Err(2), Ok(())]);
        assert_eq!(a.taken_shared, BTreeMap::from([(9, 3)]));
        assert_eq!(a.taken, BTreeMap::from([(1, 2), (2, 1), (3, 5)]));
        assert_eq!(a.left_after(1, &stock, &shared), 0);
        assert_eq!(a.left_after(3, &stock, &shared), i64::MAX);
    }

    #[test]
    fn two_lines_of_one_product_are_counted_together() {
        let shared = SharedStock {
            product_of: HashMap::from([(1, 9), (2, 9)]),
            left: HashMap::from([(9, 3)]),
        };
        let stock = left(&[(1, None), (2, None)]);
        let a = super::allocate(&[&[(1, 2), (2, 2)], &[(1, 1), (2, 2)]], &stock, &shared);
        assert_eq!(a.outcome, vec![Err(1), Ok(())]);
        assert_eq!(a.left_after(2, &stock, &shared), 0);
    }

    #[test]
    fn the_smaller_of_cap_and_shared_stock_is_what_is_left() {
        let shared = SharedStock {
            product_of: HashMap::from([(1, 9)]),
            left: HashMap::from([(9, 50)]),
        };
        let stock = left(&[(1, Some(4))]);
        let a = super::allocate(&[&[(1, 5)], &[(1, 4)]], &stock, &shared);
        assert_eq!(a.outcome, vec![Err(1), Ok(())]);
        assert_eq!(a.taken_shared, BTreeMap::from([(9, 4)]));
    }

    #[test]
    fn allocation_serves_in_arrival_order_until_stock_runs_out() {
        let a = allocate(&[&[(1, 2)], &[(1, 2)], &[(1, 1)]], &left(&[(1, Some(3))]));
        assert_eq!(a.outcome, vec![Ok(()), Err(1), Ok(())]);
        assert_eq!(a.taken, BTreeMap::from([(1, 3)]));
    }

    #[test]
    fn allocation_gives_an_order_all_its_lines_or_none() {
        let stock = left(&[(1, Some(5)), (2, Some(1))]);
        let a = allocate(&[&[(1, 2), (2, 2)], &[(1, 2), (2, 1)]], &stock);
        assert_eq!(a.outcome, vec![Err(2), Ok(())]);
        assert_eq!(a.taken, BTreeMap::from([(1, 2), (2, 1)]));
    }

    #[test]
    fn allocation_never_limits_uncapped_offers_and_refuses_unknown_ones() {
        let a = allocate(&[&[(1, 999)], &[(1, 999)], &[(7, 1)]], &left(&[(1, None)]));
        assert_eq!(a.outcome, vec![Ok(()), Ok(()), Err(7)]);
        assert_eq!(a.taken, BTreeMap::from([(1, 1998)]));
    }

    #[test]
    fn allocation_of_nothing_left_refuses_everyone() {
        let a = allocate(&[&[(1, 1)]], &left(&[(1, Some(0))]));
        assert_eq!(a.outcome, vec![Err(1)]);
        assert!(a.taken.is_empty());
    }
}
