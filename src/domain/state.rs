//! States stored as text: each state's text, and the states a row may be in to move to it.

/// Declares, for a state enum, its stored text and the states each one may be reached from; or,
/// for a plain enum stored as text, its text alone.
macro_rules! states {
    ($name:ident { $($variant:ident => $text:literal <= [$($from:ident),* $(,)?]),* $(,)? }) => {
        $crate::domain::state::states!($name { $($variant => $text),* });

        impl $name {
            /// The states a row may be in to move to this one; none for a first state.
            pub const fn reached_from(self) -> &'static [$name] {
                match self {
                    $($name::$variant => &[$($name::$from),*]),*
                }
            }

            pub fn can_become(self, next: $name) -> bool {
                next.reached_from().contains(&self)
            }

            /// The texts of [`Self::reached_from`], for a guarded update.
            pub fn reached_from_text(self) -> impl Iterator<Item = &'static str> {
                self.reached_from().iter().map(|s| s.as_str())
            }
        }
    };
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use states;

#[cfg(test)]
mod tests {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Light {
        Red,
        Green,
        Amber,
    }

    states!(Light {
        Red => "red" <= [Amber],
        Green => "green" <= [Red],
        Amber => "amber" <= [Green],
    });

    #[test]
    fn a_state_reads_back_its_text_and_knows_where_it_may_go() {
        for s in Light::ALL {
            assert_eq!(Light::parse(s.as_str()), Some(*s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(Light::parse("blue"), None);
        assert!(Light::Red.can_become(Light::Green));
        assert!(!Light::Red.can_become(Light::Amber));
        assert!(!Light::Red.can_become(Light::Red));
        assert_eq!(
            Light::Green.reached_from_text().collect::<Vec<_>>(),
            ["red"]
        );
    }
}
