//! Demand forecasts for harvest planning: damped-trend exponential smoothing, fitted per product.
//!
//! Why this method. A product's weekly demand at one hive is a small count (a few to a few dozen
//! units) with a lot of noise from week to week, a slow drift as the hive grows or shrinks, and
//! a slow seasonal swing (leeks in winter, tomatoes in summer). "Same as last week" carries all
//! of last week's noise into the forecast. Exponential smoothing averages the noise away, giving
//! recent weeks more weight so the level follows the season; Holt's trend term follows a growing
//! hive, and damping the trend (Gardner and McKenzie) keeps a short run of good weeks from being
//! projected upward for ever. The smoothing weights are chosen per product by the one-week-ahead
//! error over its own history, so a steady product is smoothed hard and a volatile one follows
//! closely. A yearly profile per week was tried and left out: estimated from one past year of
//! counts this small, each week's index is noisier than the effect it measures. Weeks a product
//! was not offered are skipped, not counted as zero.
//!
//! The range is the forecast ± 1.28 standard deviations of the one-week-ahead errors (an 80 %
//! band if errors were normal), widened with the horizon, never below zero. Fewer than
//! [`MIN_WEEKS`] weeks of history give no forecast: the product says so instead.

/// Weeks of history a forecast needs.
pub const MIN_WEEKS: usize = 4;

/// The smoothing weights tried: level, trend and damping.
const ALPHAS: [f64; 6] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7];
const BETAS: [f64; 4] = [0.0, 0.05, 0.1, 0.2];
const PHIS: [f64; 3] = [0.8, 0.9, 0.98];
/// Half the width of the range in standard deviations of the one-week-ahead error.
const Z: f64 = 1.28;

/// An expected quantity and its likely range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub expected: f64,
    pub low: f64,
    pub high: f64,
}

/// A series smoothed to its end: where it stands, where it heads, and how far it strays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    pub alpha: f64,
    pub beta: f64,
    pub phi: f64,
    pub level: f64,
    pub trend: f64,
    /// Standard deviation of the one-week-ahead errors over the history.
    pub sigma: f64,
}

impl Fit {
    /// The forecast `h` weeks after the last week of history (`h` ≥ 1).
    pub fn ahead(&self, h: usize) -> Band {
        let h = h.max(1);
        // φ + φ² + … + φʰ: the damped trend's total contribution over h weeks.
        let damped: f64 = (1..=h).map(|i| self.phi.powi(i as i32)).sum();
        let expected = (self.level + damped * self.trend).max(0.0);
        // Each further week adds α² of the one-week variance, as for simple smoothing.
        let spread = Z * self.sigma * (1.0 + (h as f64 - 1.0) * self.alpha * self.alpha).sqrt();
        Band {
            expected,
            low: (expected - spread).max(0.0),
            high: expected + spread,
        }
    }
}

/// Smooths `history` with the given weights; the final state and the one-week-ahead errors.
fn smooth(history: &[f64], alpha: f64, beta: f64, phi: f64) -> (f64, f64, Vec<f64>) {
    let mut level = history.first().copied().unwrap_or(0.0);
    let mut trend = 0.0;
    let mut errors = Vec::with_capacity(history.len().saturating_sub(1));
    for &y in history.iter().skip(1) {
        let predicted = (level + phi * trend).max(0.0);
        errors.push(y - predicted);
        let previous = level;
        level = alpha * y + (1.0 - alpha) * (level + phi * trend);
        trend = beta * (level - previous) + (1.0 - beta) * phi * trend;
    }
    (level, trend, errors)
}

/// Fits the weights that forecast `history` best one week ahead; None with too little history.
pub fn fit(history: &[f64]) -> Option<Fit> {
    if history.len() < MIN_WEEKS {
        return None;
    }
    let mut best: Option<(f64, Fit)> = None;
    for alpha in ALPHAS {
        for beta in BETAS {
            for phi in PHIS {
                let (level, trend, errors) = smooth(history, alpha, beta, phi);
                // The first errors only reflect the starting level, the same for every weight.
                let scored = &errors[errors.len().min(1)..];
                let sse: f64 = scored.iter().map(|e| e * e).sum();
                if best.as_ref().is_none_or(|(b, _)| sse < *b - 1e-9) {
                    let n = scored.len().max(1) as f64;
                    best = Some((
                        sse,
                        Fit {
                            alpha,
                            beta,
                            phi,
                            level,
                            trend,
                            sigma: (sse / n).sqrt(),
                        },
                    ));
                }
            }
        }
    }
    best.map(|(_, f)| f)
}

/// Forecasts for the next `horizon` weeks; None with too little history.
pub fn forecast(history: &[f64], horizon: usize) -> Option<Vec<Band>> {
    let f = fit(history)?;
    Some((1..=horizon).map(|h| f.ahead(h)).collect())
}

/// Mean absolute error and mean absolute percentage error (over weeks that sold something).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Errors {
    pub weeks: usize,
    pub mae: f64,
    pub mape: f64,
}

/// The forecast against "same as last week", replayed over the same weeks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Backtest {
    pub forecast: Errors,
    pub naive: Errors,
}

impl Backtest {
    pub fn forecast_wins(&self) -> bool {
        self.forecast.weeks > 0
            && self.forecast.mae < self.naive.mae
            && self.forecast.mape < self.naive.mape
    }
}

#[derive(Default)]
struct Tally {
    weeks: usize,
    abs: f64,
    pct: f64,
    pct_weeks: usize,
}

impl Tally {
    fn add(&mut self, predicted: f64, actual: f64) {
        let e = (predicted - actual).abs();
        self.weeks += 1;
        self.abs += e;
        if actual > 0.0 {
            self.pct += e / actual;
            self.pct_weeks += 1;
        }
    }

    fn errors(&self) -> Errors {
        Errors {
            weeks: self.weeks,
            mae: if self.weeks == 0 {
                0.0
            } else {
                self.abs / self.weeks as f64
            },
            mape: if self.pct_weeks == 0 {
                0.0
            } else {
                100.0 * self.pct / self.pct_weeks as f64
            },
        }
    }
}

/// Replays each series week by week: every week from the [`MIN_WEEKS`]th on is forecast from the
/// weeks before it only, and so is the naive "same as last week".
pub fn backtest(series: &[Vec<f64>]) -> Backtest {
    let (mut ours, mut naive) = (Tally::default(), Tally::default());
    for s in series {
        for t in MIN_WEEKS..s.len() {
            let Some(f) = fit(&s[..t]) else { continue };
            ours.add(f.ahead(1).expected, s[t]);
            naive.add(s[t - 1], s[t]);
        }
    }
    Backtest {
        forecast: ours.errors(),
        naive: naive.errors(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible stream of uniform numbers in [0, 1), so the tests need no random crate state.
    fn uniforms(seed: u64) -> impl FnMut() -> f64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Weekly counts drawn from a Poisson law of mean `mean(t)`: demand as it comes, one unit at a time.
    fn counts(weeks: usize, seed: u64, mean: impl Fn(usize) -> f64) -> Vec<f64> {
        let mut u = uniforms(seed);
        (0..weeks)
            .map(|t| {
                // Knuth's method: count uniforms until their product falls below e^-mean.
                let floor = (-mean(t)).exp();
                let (mut k, mut p) = (0.0, u());
                while p > floor {
                    k += 1.0;
                    p *= u();
                }
                k
            })
            .collect()
    }

    #[test]
    fn a_constant_series_forecasts_itself_with_a_narrow_range() {
        let b = forecast(&[12.0; 10], 3).expect("enough history");
        for band in &b {
            assert!((band.expected - 12.0).abs() < 1e-6, "{band:?}");
            assert!(band.high - band.low < 1e-6, "{band:?}");
        }
    }

    #[test]
    fn a_trend_is_followed_and_damped() {
        let history: Vec<f64> = (0..20).map(|t| 10.0 + 2.0 * t as f64).collect();
        let b = forecast(&history, 4).expect("enough history");
        // Next week continues the climb (48 would be the undamped line).
        assert!((b[0].expected - 48.0).abs() < 2.0, "{:?}", b[0]);
        // Further out it keeps climbing, but by less each week.
        assert!(b[1].expected > b[0].expected && b[3].expected > b[2].expected);
        assert!(b[3].expected - b[2].expected <= b[1].expected - b[0].expected + 1e-9);
    }

    #[test]
    fn a_seasonal_swing_with_noise_is_forecast_better_than_last_week() {
        // A yearly swing of ±60 % around a level that grows by half over two years.
        let series: Vec<Vec<f64>> = (0..8)
            .map(|p| {
                counts(104, 7 + p, |t| {
                    let season = (std::f64::consts::TAU * (t as f64 + 6.0 * p as f64) / 52.0).sin();
                    8.0 * (1.0 + 0.5 * t as f64 / 104.0) * (1.0 + 0.6 * season)
                })
            })
            .collect();
        let b = backtest(&series);
        assert!(b.forecast_wins(), "{b:?}");
        assert!(b.forecast.mae < 0.9 * b.naive.mae, "{b:?}");
    }

    #[test]
    fn too_little_history_gives_no_forecast() {
        assert_eq!(forecast(&[3.0, 5.0, 4.0], 2), None);
        assert_eq!(fit(&[]), None);
        assert!(forecast(&[3.0, 5.0, 4.0, 6.0], 1).is_some());
    }

    #[test]
    fn the_range_holds_the_expected_value_and_never_goes_below_zero() {
        let history = counts(30, 3, |_| 2.0);
        for (h, band) in forecast(&history, 5).expect("enough").iter().enumerate() {
            assert!(
                band.low <= band.expected && band.expected <= band.high,
                "{band:?}"
            );
            assert!(band.low >= 0.0);
            if h > 0 {
                assert!(band.high - band.low >= 0.0);
            }
        }
        // Noise widens the range; further weeks widen it more.
        let b = forecast(&history, 5).expect("enough");
        assert!(b[0].high > b[0].low);
        assert!(b[4].high - b[4].low >= b[0].high - b[0].low);
    }

    #[test]
    fn an_empty_backtest_is_not_a_win() {
        let b = backtest(&[vec![1.0, 2.0]]);
        assert_eq!(b.forecast.weeks, 0);
        assert!(!b.forecast_wins());
    }
}
