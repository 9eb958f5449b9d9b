//! A producer's request to sell in a hive: the radius rule and the manager's decision as guarded transitions.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ApprovalError {
    /// The producer is farther from the hive than its radius allows.
    TooFar { distance_km: f64, radius_km: i32 },
    /// The request is already in this state or cannot move to it.
    NotAllowed {
        from: ApprovalStatus,
        to: ApprovalStatus,
    },
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalStatus> {
        match s {
            "pending" => Some(ApprovalStatus::Pending),
            "approved" => Some(ApprovalStatus::Approved),
            "rejected" => Some(ApprovalStatus::Rejected),
            _ => None,
        }
    }

    /// The manager decides on a pending request, or changes their mind about a past decision.
    pub fn decide(self, to: ApprovalStatus) -> Result<ApprovalStatus, ApprovalError> {
        match (self, to) {
            (ApprovalStatus::Pending, ApprovalStatus::Approved | ApprovalStatus::Rejected)
            | (ApprovalStatus::Approved, ApprovalStatus::Rejected)
            | (ApprovalStatus::Rejected, ApprovalStatus::Approved) => Ok(to),
            (from, to) => Err(ApprovalError::NotAllowed { from, to }),
        }
    }

    /// A refused producer may ask again; a pending or approved one has nothing to ask.
    pub fn ask_again(self) -> Result<ApprovalStatus, ApprovalError> {
        match self {
            ApprovalStatus::Rejected => Ok(ApprovalStatus::Pending),
            from => Err(ApprovalError::NotAllowed {
                from,
                to: ApprovalStatus::Pending,
            }),
        }
    }
}

/// A producer may ask to sell in a hive only within the hive's radius.
pub fn check_radius(distance_km: f64, radius_km: i32) -> Result<(), ApprovalError> {
    if distance_km <= f64::from(radius_km) {
        Ok(())
    } else {
        Err(ApprovalError::TooFar {
            distance_km,
            radius_km,
        })
    }
}

/// The radius a hive starts with: La Ruche's 250 km rule.
pub const DEFAULT_RADIUS_KM: i32 = 250;
pub const MAX_RADIUS_KM: i32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use ApprovalStatus::*;

    #[test]
    fn decisions_follow_the_rules() {
        assert_eq!(Pending.decide(Approved), Ok(Approved));
        assert_eq!(Pending.decide(Rejected), Ok(Rejected));
        assert_eq!(Approved.decide(Rejected), Ok(Rejected));
        assert_eq!(Rejected.decide(Approved), Ok(Approved));
        assert!(Approved.decide(Approved).is_err());
        assert!(Pending.decide(Pending).is_err());
        assert_eq!(Rejected.ask_again(), Ok(Pending));
        assert!(Pending.ask_again().is_err());
        assert!(Approved.ask_again().is_err());
    }

    #[test]
    fn radius_is_inclusive() {
        assert!(check_radius(250.0, 250).is_ok());
        assert!(matches!(
            check_radius(250.1, 250),
            Err(ApprovalError::TooFar { .. })
        ));
    }

    #[test]
    fn status_round_trips() {
        for s in [Pending, Approved, Rejected] {
            assert_eq!(ApprovalStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ApprovalStatus::parse("maybe"), None);
    }
}
