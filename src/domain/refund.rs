//! The one refund rule: money goes back only while it is still held, never more than was paid for a
//! line or an order, whichever path asks (cancel, late payment, minimum missed, shortage, a
//! distribution called off before or after its close).

use super::Cents;

/// What a line of an order cost and how much of it has gone back already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldLine {
    pub line: i64,
    pub amount: Cents,
    pub refunded: Cents,
}

impl HeldLine {
    /// What is still held for this line.
    pub fn held(&self) -> Cents {
        Cents((self.amount.0 - self.refunded.0).max(0))
    }
}

/// What a refund path asks to give back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Everything still held for the order.
    Whole,
    /// So much per line (a shortage, a producer under its minimum).
    Lines(Vec<(i64, Cents)>),
}

/// What is given back: per line, and in all; an empty plan gives nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub lines: Vec<(i64, Cents)>,
    pub total: Cents,
}

/// The refund of `ask` for an order that captured `paid` and gave back `refunded` already: each line
/// gets at most what it still holds, and the order at most what it still holds.
pub fn plan(paid: Cents, refunded: Cents, lines: &[HeldLine], ask: &Ask) -> Plan {
    let mut left = (paid.0 - refunded.0).max(0);
    // What each line still holds, spent as it is given, so a line asked twice gets it once.
    let mut held: Vec<(i64, i64)> = lines.iter().map(|l| (l.line, l.held().0)).collect();
    let wanted: Vec<(i64, i64)> = match ask {
        Ask::Whole => held.clone(),
        Ask::Lines(asked) => asked.iter().map(|(id, a)| (*id, a.0)).collect(),
    };
    let mut out = Plan::default();
    for (line, want) in wanted {
        let Some((_, holds)) = held.iter_mut().find(|(l, _)| *l == line) else {
            continue;
        };
        let give = want.min(*holds).min(left);
        if give <= 0 {
            continue;
        }
        *holds -= give;
        left -= give;
        out.total.0 += give;
        match out.lines.iter_mut().find(|(l, _)| *l == line) {
            Some((_, a)) => a.0 += give,
            None => out.lines.push((line, Cents(give))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(line: i64, amount: i64, refunded: i64) -> HeldLine {
        HeldLine {
            line,
            amount: Cents(amount),
            refunded: Cents(refunded),
        }
    }

    #[test]
    fn a_whole_refund_after_a_shortage_gives_back_only_what_is_left() {
        // Paid 16,00 €: two lines of 8,00 €; 2,00 + 2,00 already refunded for missing units.
        let lines = [line(1, 800, 200), line(2, 800, 200)];
        let p = plan(Cents(1600), Cents(400), &lines, &Ask::Whole);
        assert_eq!(p.total, Cents(1200));
        assert_eq!(p.lines, vec![(1, Cents(600)), (2, Cents(600))]);
    }

    #[test]
    fn a_line_never_gets_back_more_than_it_holds() {
        let lines = [line(1, 500, 300)];
        let p = plan(
            Cents(500),
            Cents(300),
            &lines,
            &Ask::Lines(vec![(1, Cents(400))]),
        );
        assert_eq!(p.total, Cents(200));
        let p = plan(
            Cents(500),
            Cents(300),
            &lines,
            &Ask::Lines(vec![(1, Cents(150)), (1, Cents(150))]),
        );
        assert_eq!(p.total, Cents(200), "asked twice, still capped");
    }

    #[test]
    fn nothing_goes_back_for_a_line_the_order_does_not_have_or_a_negative_ask() {
        let lines = [line(1, 500, 0)];
        let p = plan(
            Cents(500),
            Cents(0),
            &lines,
            &Ask::Lines(vec![(9, Cents(100)), (1, Cents(-50))]),
        );
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn the_order_caps_the_refund_when_it_holds_less_than_its_lines() {
        let lines = [line(1, 500, 0), line(2, 500, 0)];
        let p = plan(Cents(1000), Cents(700), &lines, &Ask::Whole);
        assert_eq!(p.total, Cents(300));
        assert_eq!(p.lines, vec![(1, Cents(300))]);
    }

    proptest! {
        /// Whatever sequence of asks comes, refunds never exceed what was paid, per line and in all.
        #[test]
        fn refunds_never_exceed_what_was_paid(
            amounts in prop::collection::vec(1i64..5_000, 1..6),
            asks in prop::collection::vec(
                prop_oneof![
                    Just(None),
                    prop::collection::vec((0usize..6, -100i64..6_000), 1..4).prop_map(Some),
                ],
                1..8,
            ),
        ) {
            let paid = Cents(amounts.iter().sum());
            let mut lines: Vec<HeldLine> = amounts
                .iter()
                .enumerate()
                .map(|(i, a)| line(i as i64, *a, 0))
                .collect();
            let mut refunded = Cents(0);
            for ask in asks {
                let ask = match ask {
                    None => Ask::Whole,
                    Some(v) => Ask::Lines(v.into_iter().map(|(l, a)| (l as i64, Cents(a))).collect()),
                };
                let p = plan(paid, refunded, &lines, &ask);
                prop_assert_eq!(p.total.0, p.lines.iter().map(|(_, a)| a.0).sum::<i64>());
                for (id, a) in &p.lines {
                    let l = lines.iter_mut().find(|l| l.line == *id).expect("a line of the order");
                    l.refunded.0 += a.0;
                    prop_assert!(l.refunded <= l.amount);
                }
                refunded.0 += p.total.0;
                prop_assert!(refunded <= paid);
                if ask == Ask::Whole {
                    prop_assert_eq!(refunded, paid, "a whole refund leaves nothing held");
                }
            }
        }
    }
}
