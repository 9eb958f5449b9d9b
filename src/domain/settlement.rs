//! What a distribution's close settles: minimums, basket numbers, pick lists, the pickup sheet, shortages and payouts.
//!
//! Rounding follows the one rule written in [`super::money`], so
//! `Σ paid = Σ refunds + Σ payouts + Σ host fees + Σ platform fees` holds to the cent.

use super::ids::{ProducerId, ProductId};
use super::money::{Cents, div_half_up};
use super::weight::{SoldBy, Weighed};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One line of a paid order, as the close reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    pub order: i64,
    pub member: i64,
    pub producer: i64,
    pub product: i64,
    pub quantity: i64,
    pub unit_price: Cents,
    pub vat_rate_bps: i32,
    /// Units handed over after a shortage; `None` while the producer has reported none.
    pub delivered: Option<i64>,
    /// Cancelled because the producer did not reach its minimum.
    pub cancelled: bool,
    /// The real weight of a line sold by weight; `None` until weighed, when it costs what was paid.
    pub weighed: Option<Weighed>,
}

impl Line {
    pub fn amount(&self) -> Cents {
        Cents(self.quantity * self.unit_price.0)
    }

    /// Units the member keeps and pays for.
    pub fn kept(&self) -> i64 {
        if self.cancelled {
            0
        } else {
            self.delivered
                .unwrap_or(self.quantity)
                .clamp(0, self.quantity)
        }
    }

    /// What the member finally pays for this line: the units kept, or the weighed charge.
    pub fn kept_amount(&self) -> Cents {
        let kept = self.kept() * self.unit_price.0;
        match self.weighed {
            Some(w) if !self.cancelled => Cents(w.charge.0.clamp(0, kept)),
            _ => Cents(kept),
        }
    }

    /// Money owed back to the member for this line.
    pub fn refund(&self) -> Cents {
        Cents(self.amount().0 - self.kept_amount().0)
    }
}

/// Host and platform fees, in basis points of VAT-exclusive sales.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRates {
    pub host_bps: i32,
    pub platform_bps: i32,
}

/// What each producer sold, VAT included, counting lines not cancelled.
pub fn sales_by_producer(lines: &[Line]) -> HashMap<i64, Cents> {
    let mut sales: HashMap<i64, Cents> = HashMap::new();
    for l in lines.iter().filter(|l| !l.cancelled) {
        sales.entry(l.producer).or_default().0 += l.amount().0;
    }
    sales
}

/// Producers that sold something but less than their minimum order amount; their lines are cancelled at close.
pub fn under_minimum(sales: &HashMap<i64, Cents>, minimums: &HashMap<i64, Cents>) -> BTreeSet<i64> {
    sales
        .iter()
        .filter(|(p, sold)| sold.0 > 0 && minimums.get(p).is_some_and(|min| sold.0 < min.0))
        .map(|(p, _)| *p)
        .collect()
}

/// A refund owed to one order for one producer's lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRefund {
    pub order: i64,
    pub producer: i64,
    pub amount: Cents,
}

/// What each order gets back when `cancelled` producers' lines are dropped, one refund per order and producer.
pub fn minimum_refunds(lines: &[Line], cancelled: &BTreeSet<i64>) -> Vec<OrderRefund> {
    let mut per: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for l in lines
        .iter()
        .filter(|l| !l.cancelled && cancelled.contains(&l.producer))
    {
        *per.entry((l.order, l.producer)).or_default() += l.amount().0;
    }
    per.into_iter()
        .map(|((order, producer), amount)| OrderRefund {
            order,
            producer,
            amount: Cents(amount),
        })
        .collect()
}

/// What applying the minimums does: who falls under, what each producer had sold, and what each
/// order gets back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinimumCut {
    pub under: BTreeSet<i64>,
    pub sales: HashMap<i64, Cents>,
    pub refunds: Vec<OrderRefund>,
}

/// Cancels, in `lines`, the lines of producers under their minimum, and says what that refunds.
pub fn cut_below_minimum(lines: &mut [Line], minimums: &HashMap<i64, Cents>) -> MinimumCut {
    let sales = sales_by_producer(lines);
    let under = under_minimum(&sales, minimums);
    let refunds = minimum_refunds(lines, &under);
    for l in lines.iter_mut().filter(|l| under.contains(&l.producer)) {
        l.cancelled = true;
    }
    MinimumCut {
        under,
        sales,
        refunds,
    }
}

/// Basket numbers from 1, in the order members first ordered; every order of a member shares one.
pub fn basket_numbers(orders: &[(i64, i64)]) -> BTreeMap<i64, i32> {
    let mut first: BTreeMap<i64, i64> = BTreeMap::new();
    for &(order, member) in orders {
        let e = first.entry(member).or_insert(order);
        *e = (*e).min(order);
    }
    let mut by_first: Vec<(i64, i64)> = first.into_iter().map(|(m, o)| (o, m)).collect();
    by_first.sort_unstable();
    by_first
        .into_iter()
        .zip(1..)
        .map(|((_, member), n)| (member, n))
        .collect()
}

/// A member as the pick list and the pickup sheet show them: basket number and name, nothing more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub basket: i32,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub name: String,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductTotal {
    pub product_id: ProductId,
    pub name: String,
    pub unit: String,
    pub quantity: i64,
    /// Filled when read for a reader; a product sold by weight is weighed after the close.
    #[serde(default)]
    pub sold_by: SoldBy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BagLine {
    pub product_id: ProductId,
    /// Empty until read back from storage, where the pick list's products name them once.
    pub name: String,
    pub unit: String,
    pub quantity: i64,
    #[serde(default)]
    pub sold_by: SoldBy,
}

/// One bag to fill: a member's basket number and name, and what goes in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bag {
    pub basket: i32,
    pub name: String,
    pub lines: Vec<BagLine>,
}

/// What one producer harvests and bags for a distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PickList {
    pub producer_id: ProducerId,
    /// Totals per product, by name.
    pub products: Vec<ProductTotal>,
    /// Bags by basket number.
    pub members: Vec<Bag>,
    /// The lines of products sold by weight, each to be weighed; filled when read, never stored.
    #[serde(default)]
    pub weigh: Vec<WeighLine>,
}

/// One order line of a product sold by weight, as the producer weighs it after the close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeighLine {
    pub order_line_id: i64,
    pub sold_by: SoldBy,
    pub basket: i32,
    /// The member, as on the bag.
    pub name: String,
    pub product_id: ProductId,
    pub product: String,
    /// Pieces in the line.
    pub quantity: i64,
    /// The most the line may weigh: its pieces at their largest weight.
    pub max_grams: i64,
    pub price_per_kg_cents: Cents,
    /// What the member paid at checkout.
    pub paid_cents: Cents,
    /// The weight typed so far, and what it costs; `None` until weighed.
    pub grams: Option<i64>,
    pub charged_cents: Option<Cents>,
}

/// A pick list as stored: `[producer, [[product, name, unit, quantity]…], [[basket, name,
/// [[product, quantity]…]]…]]`, a third of the named-field form, since one distribution's lists
/// run to megabytes.
type StoredPickList = (
    i64,
    Vec<(i64, String, String, i64)>,
    Vec<(i32, String, Vec<(i64, i64)>)>,
);

impl PickList {
    /// The compact JSON kept in `pick_lists.body`.
    pub fn to_stored(&self) -> String {
        let products: Vec<(i64, &str, &str, i64)> = self
            .products
            .iter()
            .map(|p| (p.product_id.0, p.name.as_str(), p.unit.as_str(), p.quantity))
            .collect();
        let bags: Vec<_> = self
            .members
            .iter()
            .map(|b| {
                let lines: Vec<(i64, i64)> = b
                    .lines
                    .iter()
                    .map(|l| (l.product_id.0, l.quantity))
                    .collect();
                (b.basket, b.name.as_str(), lines)
            })
            .collect();
        // Tuples of integers and strings always serialize.
        serde_json::to_string(&(self.producer_id.0, products, bags)).unwrap_or_default()
    }

    /// Reads a pick list back from its stored form, naming each bag's lines from the products.
    pub fn from_stored(text: &str) -> Result<Self, serde_json::Error> {
        let (producer, products, bags): StoredPickList = serde_json::from_str(text)?;
        let names: HashMap<i64, (&str, &str)> = products
            .iter()
            .map(|(id, name, unit, _)| (*id, (name.as_str(), unit.as_str())))
            .collect();
        let members = bags
            .iter()
            .map(|(basket, name, lines)| Bag {
                basket: *basket,
                name: name.clone(),
                lines: lines
                    .iter()
                    .map(|&(product, quantity)| {
                        let (name, unit) = names.get(&product).copied().unwrap_or_default();
                        BagLine {
                            product_id: ProductId(product),
                            name: name.to_owned(),
                            unit: unit.to_owned(),
                            quantity,
                            sold_by: SoldBy::Unit,
                        }
                    })
                    .collect(),
            })
            .collect();
        let products = products
            .into_iter()
            .map(|(id, name, unit, quantity)| ProductTotal {
                product_id: ProductId(id),
                name,
                unit,
                quantity,
                sold_by: SoldBy::Unit,
            })
            .collect();
        Ok(PickList {
            producer_id: ProducerId(producer),
            products,
            members,
            weigh: Vec::new(),
        })
    }
}

/// VAT-inclusive and VAT-exclusive amounts at one rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VatShare {
    pub rate_bps: i32,
    pub incl_vat: Cents,
    pub excl_vat: Cents,
}

/// A producer's statement for one distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub producer_id: ProducerId,
    /// Everything members paid for this producer's lines, VAT included.
    pub sales: Cents,
    /// What members got back: lines under the minimum and units not delivered.
    pub refunds: Cents,
    /// Sales kept, per VAT rate; the fees' base is the sum of their VAT-exclusive amounts.
    pub vat: Vec<VatShare>,
    pub sales_excl_vat: Cents,
    pub host_fee: Cents,
    pub platform_fee: Cents,
    pub payout: Cents,
}

/// The statement of one producer from its lines.
pub fn payout(producer: i64, lines: &[Line], fees: FeeRates) -> Payout {
    let mut sales = 0;
    let mut refunds = 0;
    let mut kept: BTreeMap<i32, i64> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.producer == producer) {
        sales += l.amount().0;
        refunds += l.refund().0;
        *kept.entry(l.vat_rate_bps).or_default() += l.kept_amount().0;
    }
    let vat: Vec<VatShare> = kept
        .into_iter()
        .filter(|&(_, incl)| incl != 0)
        .map(|(rate_bps, incl)| VatShare {
            rate_bps,
            incl_vat: Cents(incl),
            excl_vat: Cents(incl).excl_vat(rate_bps),
        })
        .collect();
    let excl: i64 = vat.iter().map(|v| v.excl_vat.0).sum();
    let host_fee = div_half_up(excl * i64::from(fees.host_bps), 10_000);
    let platform_fee = div_half_up(excl * i64::from(fees.platform_bps), 10_000);
    Payout {
        producer_id: ProducerId(producer),
        sales: Cents(sales),
        refunds: Cents(refunds),
        vat,
        sales_excl_vat: Cents(excl),
        host_fee: Cents(host_fee),
        platform_fee: Cents(platform_fee),
        payout: Cents(sales - refunds - host_fee - platform_fee),
    }
}

/// Everything the close computes, from the lines of the distribution's paid orders.
pub struct Settlement {
    pub pick_lists: Vec<PickList>,
    pub payouts: Vec<Payout>,
}

impl Settlement {
    pub fn host_fees(&self) -> Cents {
        Cents(self.payouts.iter().map(|p| p.host_fee.0).sum())
    }
}

/// Pick lists and payouts for `producers` (every producer that sold, cancelled or not).
pub fn settle(
    lines: &[Line],
    members: &HashMap<i64, Member>,
    products: &HashMap<i64, Product>,
    fees: FeeRates,
) -> Settlement {
    let mut by_producer: BTreeMap<i64, Vec<Line>> = BTreeMap::new();
    for l in lines {
        by_producer.entry(l.producer).or_default().push(*l);
    }
    let unknown = Product {
        name: String::new(),
        unit: String::new(),
    };
    let mut pick_lists = Vec::with_capacity(by_producer.len());
    let mut payouts = Vec::with_capacity(by_producer.len());

    for (producer, lines) in &by_producer {
        payouts.push(payout(*producer, lines, fees));
        // Sorted by basket, member and product, the bags come out in one pass with no map per bag.
        let mut bagged: Vec<(i32, i64, i64, i64)> = lines
            .iter()
            .filter(|l| !l.cancelled)
            .map(|l| {
                let basket = members.get(&l.member).map_or(0, |m| m.basket);
                (basket, l.member, l.product, l.quantity)
            })
            .collect();
        bagged.sort_unstable();
        let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
        let mut members_out: Vec<Bag> = Vec::new();
        let mut filling = None;
        for (basket, member, product, quantity) in bagged {
            *totals.entry(product).or_default() += quantity;
            if filling != Some((basket, member)) {
                filling = Some((basket, member));
                members_out.push(Bag {
                    basket,
                    name: members
                        .get(&member)
                        .map(|m| m.name.clone())
                        .unwrap_or_default(),
                    lines: Vec::new(),
                });
            }
            if let Some(bag) = members_out.last_mut() {
                match bag.lines.last_mut() {
                    Some(l) if l.product_id.0 == product => l.quantity += quantity,
                    _ => bag.lines.push(BagLine {
                        product_id: ProductId(product),
                        name: String::new(),
                        unit: String::new(),
                        quantity,
                        sold_by: SoldBy::Unit,
                    }),
                }
            }
        }
        let product = |id: &i64| products.get(id).unwrap_or(&unknown);
        let mut products_out: Vec<ProductTotal> = totals
            .into_iter()
            .map(|(id, quantity)| ProductTotal {
                product_id: ProductId(id),
                name: product(&id).name.clone(),
                unit: product(&id).unit.clone(),
                quantity,
                sold_by: SoldBy::Unit,
            })
            .collect();
        products_out.sort_by(|a, b| a.name.cmp(&b.name).then(a.product_id.cmp(&b.product_id)));
        pick_lists.push(PickList {
            producer_id: ProducerId(*producer),
            products: products_out,
            members: members_out,
            weigh: Vec::new(),
        });
    }
    Settlement {
        pick_lists,
        payouts,
    }
}

/// What one member collects from one producer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Collect {
    pub producer_id: ProducerId,
    pub producer: String,
    pub lines: Vec<BagLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SheetRow {
    pub basket: i32,
    pub name: String,
    pub from: Vec<Collect>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProducerCount {
    pub producer_id: ProducerId,
    pub producer: String,
    /// Bags this producer brings, one per member.
    pub bags: usize,
    pub units: i64,
}

/// The manager's sheet: members alphabetically with what to collect, and a count per producer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PickupSheet {
    pub members: Vec<SheetRow>,
    pub producers: Vec<ProducerCount>,
}

/// The pickup sheet, turned round from the pick lists so both always agree.
pub fn pickup_sheet(pick_lists: &[PickList], producer_names: &HashMap<i64, String>) -> PickupSheet {
    let mut rows: BTreeMap<i32, SheetRow> = BTreeMap::new();
    let mut producers = Vec::new();
    for pl in pick_lists.iter().filter(|pl| !pl.members.is_empty()) {
        let producer = producer_names
            .get(&pl.producer_id.0)
            .cloned()
            .unwrap_or_default();
        producers.push(ProducerCount {
            producer_id: pl.producer_id,
            producer: producer.clone(),
            bags: pl.members.len(),
            units: pl.products.iter().map(|p| p.quantity).sum(),
        });
        for bag in &pl.members {
            rows.entry(bag.basket)
                .or_insert_with(|| SheetRow {
                    basket: bag.basket,
                    name: bag.name.clone(),
                    from: Vec::new(),
                })
                .from
                .push(Collect {
                    producer_id: pl.producer_id,
                    producer: producer.clone(),
                    lines: bag.lines.clone(),
                });
        }
    }
    let mut members: Vec<SheetRow> = rows.into_values().collect();
    for m in &mut members {
        m.from.sort_by(|a, b| a.producer.cmp(&b.producer));
    }
    members.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.basket.cmp(&b.basket))
    });
    producers.sort_by(|a, b| a.producer.cmp(&b.producer));
    PickupSheet { members, producers }
}

/// One member's share of a product: the line, what was ordered, and what is now delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub line: i64,
    pub ordered: i64,
    pub delivered: i64,
}

/// Shares `delivered` units out among lines (in order of arrival) in proportion to what each
/// ordered, largest remainders first and earlier orders first on ties; a refund is then the
/// missing units at the price paid.
pub fn share_shortage(lines: &[(i64, i64)], delivered: i64) -> Vec<Share> {
    let ordered: i64 = lines.iter().map(|(_, q)| q).sum();
    let delivered = delivered.clamp(0, ordered);
    if ordered == 0 {
        return Vec::new();
    }
    let mut shares: Vec<Share> = lines
        .iter()
        .map(|&(line, q)| Share {
            line,
            ordered: q,
            delivered: q * delivered / ordered,
        })
        .collect();
    let mut left = delivered - shares.iter().map(|s| s.delivered).sum::<i64>();
    let mut by_remainder: Vec<(i64, usize)> = lines
        .iter()
        .enumerate()
        .map(|(i, &(_, q))| (-((q * delivered) % ordered), i))
        .collect();
    by_remainder.sort_unstable();
    for (_, i) in by_remainder {
        if left == 0 {
            break;
        }
        if shares[i].delivered < shares[i].ordered {
            shares[i].delivered += 1;
            left -= 1;
        }
    }
    shares
}

/// Money in and out of one distribution, to the cent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub captured: Cents,
    pub refunds: Cents,
    pub payouts: Cents,
    pub host_fees: Cents,
    pub platform_fees: Cents,
}

impl Balance {
    /// `Σ captured = Σ refunds + Σ payouts + Σ host fees + Σ platform fees`.
    pub fn holds(&self) -> bool {
        self.captured.0 == self.refunds.0 + self.payouts.0 + self.host_fees.0 + self.platform_fees.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(order: i64, member: i64, producer: i64, product: i64, qty: i64, price: i64) -> Line {
        Line {
            order,
            member,
            producer,
            product,
            quantity: qty,
            unit_price: Cents(price),
            vat_rate_bps: 550,
            delivered: None,
            cancelled: false,
            weighed: None,
        }
    }

    #[test]
    fn a_producer_under_its_minimum_is_found_and_refunded_per_order() {
        let mut lines = [
            line(1, 10, 1, 100, 2, 500),
            line(2, 11, 1, 100, 1, 500),
            line(2, 11, 2, 200, 3, 1000),
            line(2, 11, 2, 201, 1, 250),
        ];
        let minimums = HashMap::from([(1, Cents(2000)), (2, Cents(3000)), (3, Cents(100))]);
        let under = under_minimum(&sales_by_producer(&lines), &minimums);
        assert_eq!(under, BTreeSet::from([1]));
        assert_eq!(
            minimum_refunds(&lines, &under),
            vec![
                OrderRefund {
                    order: 1,
                    producer: 1,
                    amount: Cents(1000)
                },
                OrderRefund {
                    order: 2,
                    producer: 1,
                    amount: Cents(500)
                },
            ]
        );
        let cut = cut_below_minimum(&mut lines, &minimums);
        assert_eq!(cut.under, under);
        assert_eq!(cut.refunds.len(), 2);
        assert_eq!(cut.sales.get(&1), Some(&Cents(1500)));
        let cancelled: Vec<bool> = lines.iter().map(|l| l.cancelled).collect();
        assert_eq!(cancelled, [true, true, false, false]);
        // Applied twice, nothing more is cut: the producer has no sales left to fall under.
        assert_eq!(cut_below_minimum(&mut lines, &minimums).refunds, vec![]);
    }

    #[test]
    fn baskets_are_numbered_by_first_order() {
        let numbers = basket_numbers(&[(7, 30), (3, 20), (9, 20), (5, 10)]);
        assert_eq!(numbers, BTreeMap::from([(20, 1), (10, 2), (30, 3)]));
    }

    #[test]
    fn fees_are_rounded_once_per_producer_on_sales_kept_excl_vat() {
        let mut lines = vec![
            line(1, 10, 1, 100, 3, 333),
            Line {
                vat_rate_bps: 2000,
                ..line(2, 11, 1, 101, 1, 1201)
            },
        ];
        lines[0].delivered = Some(2);
        let p = payout(
            1,
            &lines,
            FeeRates {
                host_bps: 835,
                platform_bps: 835,
            },
        );
        // Kept: 666 at 5.5% → 631.28 → 631; 1201 at 20% → 1000.83 → 1001; base 1632.
        assert_eq!(p.sales, Cents(2200));
        assert_eq!(p.refunds, Cents(333));
        assert_eq!(p.sales_excl_vat, Cents(1632));
        // 1632 × 8.35% = 136.272 → 136.
        assert_eq!(p.host_fee, Cents(136));
        assert_eq!(p.platform_fee, Cents(136));
        assert_eq!(p.payout, Cents(2200 - 333 - 136 - 136));
    }

    #[test]
    fn shortages_are_shared_in_proportion_with_earlier_orders_first() {
        let s = share_shortage(&[(1, 2), (2, 2), (3, 1)], 3);
        let got: Vec<i64> = s.iter().map(|s| s.delivered).collect();
        // 2×3/5 = 1.2, 1.2, 0.6: one unit each, the last unit to the largest remainder (0.6).
        assert_eq!(got, vec![1, 1, 1]);
        let s = share_shortage(&[(1, 1), (2, 1)], 1);
        assert_eq!(
            s.iter().map(|s| s.delivered).collect::<Vec<_>>(),
            vec![1, 0]
        );
        assert!(
            share_shortage(&[(1, 4)], 9)
                .iter()
                .all(|s| s.delivered == 4)
        );
        assert!(
            share_shortage(&[(1, 4)], -1)
                .iter()
                .all(|s| s.delivered == 0)
        );
    }

    #[test]
    fn the_pickup_sheet_lists_members_by_name_with_each_producer() {
        let lines = [
            line(1, 10, 1, 100, 2, 500),
            line(2, 11, 1, 100, 1, 500),
            line(2, 11, 2, 200, 3, 1000),
        ];
        let members = HashMap::from([
            (
                10,
                Member {
                    basket: 1,
                    name: "Zoé".into(),
                },
            ),
            (
                11,
                Member {
                    basket: 2,
                    name: "anne".into(),
                },
            ),
        ]);
        let products = HashMap::from([
            (
                100,
                Product {
                    name: "Poireaux".into(),
                    unit: "botte".into(),
                },
            ),
            (
                200,
                Product {
                    name: "Œufs".into(),
                    unit: "6".into(),
                },
            ),
        ]);
        let fees = FeeRates {
            host_bps: 835,
            platform_bps: 835,
        };
        let s = settle(&lines, &members, &products, fees);
        assert_eq!(s.pick_lists.len(), 2);
        assert_eq!(s.pick_lists[0].products[0].quantity, 3);
        assert_eq!(s.pick_lists[0].members.len(), 2);
        let names = HashMap::from([(1, "Ferme A".to_owned()), (2, "Ferme B".to_owned())]);
        let sheet = pickup_sheet(&s.pick_lists, &names);
        assert_eq!(sheet.members[0].name, "anne");
        assert_eq!(sheet.members[0].from.len(), 2);
        assert_eq!(sheet.members[1].basket, 1);
        assert_eq!(sheet.producers[0].bags, 2);
        assert_eq!(sheet.producers[0].units, 3);

        // Stored and read back, each bag line is named from its product.
        let stored = s.pick_lists[0].to_stored();
        assert!(
            stored.starts_with("[1,[[100,\"Poireaux\",\"botte\",3]],"),
            "{stored}"
        );
        let back = PickList::from_stored(&stored).expect("a stored pick list reads back");
        let mut named = s.pick_lists[0].clone();
        for bag in &mut named.members {
            for l in &mut bag.lines {
                l.name = "Poireaux".into();
                l.unit = "botte".into();
            }
        }
        assert_eq!(back, named);
        assert!(PickList::from_stored("{\"producer_id\":1}").is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const VAT_RATES: [i32; 5] = [0, 210, 550, 1000, 2000];

    /// (member, cancelled by the member before close, lines of (product index, quantity))
    type Order = (i64, bool, Vec<(usize, i64)>);

    #[derive(Debug, Clone)]
    struct Case {
        fees: FeeRates,
        minimums: Vec<i64>,
        /// (producer index, price, VAT rate index)
        products: Vec<(usize, i64, usize)>,
        orders: Vec<Order>,
        /// Per product: the share delivered in percent, when short.
        shortages: Vec<Option<i64>>,
        /// Per product sold by weight (its price per kg, a piece at most 1 kg): the real weight
        /// in percent of the most, weighed after the close.
        weighings: Vec<Option<i64>>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (1usize..6, 1usize..12).prop_flat_map(|(producers, products)| {
            (
                (0i32..=2000, 0i32..=5000),
                prop::collection::vec(prop_oneof![Just(0i64), 0i64..6000], producers),
                prop::collection::vec((0..producers, 1i64..=5000, 0usize..5), products),
                prop::collection::vec(
                    (
                        0i64..10,
                        prop::bool::weighted(0.1),
                        prop::collection::vec((0..products, 1i64..=10), 1..5),
                    ),
                    0..25,
                ),
                prop::collection::vec(prop::option::weighted(0.3, 0i64..=100), products),
                prop::collection::vec(prop::option::weighted(0.3, 0i64..=120), products),
            )
                .prop_map(
                    |(
                        (host_bps, platform_bps),
                        minimums,
                        products,
                        orders,
                        shortages,
                        weighings,
                    )| Case {
                        fees: FeeRates {
                            host_bps,
                            platform_bps,
                        },
                        minimums,
                        products,
                        orders,
                        shortages,
                        weighings,
                    },
                )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Every cent members paid is refunded, paid out or taken as a fee, whatever happens at close.
        #[test]
        fn money_balances_to_the_cent(c in case()) {
            let mut balance = Balance::default();
            let mut lines = Vec::new();
            for (i, (member, cancelled_by_member, items)) in c.orders.iter().enumerate() {
                let order_lines: Vec<Line> = items.iter().map(|&(p, quantity)| {
                    let (producer, price, vat) = c.products[p];
                    Line {
                        order: i as i64 + 1,
                        member: *member,
                        producer: producer as i64,
                        product: p as i64,
                        quantity,
                        unit_price: Cents(price),
                        vat_rate_bps: VAT_RATES[vat],
                        delivered: None,
                        cancelled: false,
                        weighed: None,
                    }
                }).collect();
                let total: i64 = order_lines.iter().map(|l| l.amount().0).sum();
                balance.captured.0 += total;
                if *cancelled_by_member {
                    balance.refunds.0 += total;
                } else {
                    lines.extend(order_lines);
                }
            }
            let minimums: HashMap<i64, Cents> = c.minimums.iter().enumerate()
                .map(|(p, m)| (p as i64, Cents(*m))).collect();
            let under = under_minimum(&sales_by_producer(&lines), &minimums);
            for r in minimum_refunds(&lines, &under) {
                balance.refunds.0 += r.amount.0;
            }
            for l in lines.iter_mut().filter(|l| under.contains(&l.producer)) {
                l.cancelled = true;
            }
            for (product, short) in c.shortages.iter().enumerate() {
                let Some(percent) = short else { continue };
                let idx: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].product == product as i64 && !lines[i].cancelled)
                    .collect();
                let ordered: Vec<(i64, i64)> = idx.iter().map(|&i| (i as i64, lines[i].quantity)).collect();
                let total: i64 = ordered.iter().map(|(_, q)| q).sum();
                for s in share_shortage(&ordered, total * percent / 100) {
                    let l = &mut lines[s.line as usize];
                    prop_assert!(s.delivered <= l.quantity && s.delivered >= 0);
                    l.delivered = Some(s.delivered);
                    balance.refunds.0 += (l.quantity - s.delivered) * l.unit_price.0;
                }
            }
            // A product is either short or weighed: shortage reports refuse products sold by weight.
            for (product, weighed) in c.weighings.iter().enumerate() {
                let Some(percent) = weighed else { continue };
                if c.shortages[product].is_some() {
                    continue;
                }
                for l in lines.iter_mut().filter(|l| l.product == product as i64 && !l.cancelled) {
                    let grams = l.quantity * 1000 * percent / 100;
                    let charge = crate::domain::weight::weighed_charge(l.unit_price, grams, l.amount());
                    prop_assert!(charge.0 >= 0 && charge.0 <= l.amount().0);
                    l.weighed = Some(Weighed { grams, charge });
                    balance.refunds.0 += l.amount().0 - charge.0;
                }
            }
            let members = HashMap::new();
            let products = HashMap::new();
            let settlement = settle(&lines, &members, &products, c.fees);
            for p in &settlement.payouts {
                balance.payouts.0 += p.payout.0;
                balance.host_fees.0 += p.host_fee.0;
                balance.platform_fees.0 += p.platform_fee.0;
                prop_assert!(p.payout.0 >= 0, "negative payout {p:?}");
                prop_assert!(p.sales_excl_vat.0 <= p.sales.0 - p.refunds.0);
                if under.contains(&p.producer_id.0) {
                    prop_assert_eq!(p.payout, Cents(0));
                }
            }
            prop_assert!(balance.holds(), "{balance:?}");
            for pl in &settlement.pick_lists {
                let units: i64 = pl.products.iter().map(|p| p.quantity).sum();
                let bagged: i64 = pl.members.iter().flat_map(|m| &m.lines).map(|l| l.quantity).sum();
                prop_assert_eq!(units, bagged);
            }
        }
    }
}
