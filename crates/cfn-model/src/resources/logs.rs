//! `AWS::Logs::LogGroup`.

use serde::{Serialize, Serializer};

use crate::expr::Expr;
use crate::resources::fixed_type;
use crate::template::Handle;

/// A CloudWatch Logs log group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    /// `LogGroupName`.
    pub log_group_name: Expr,
    /// `RetentionInDays`.
    pub retention_in_days: Retention,
}

fixed_type!(LogGroup, "AWS::Logs::LogGroup");

/// Retention periods CloudWatch Logs accepts (a subset of its list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// 7 days.
    OneWeek,
    /// 14 days.
    TwoWeeks,
    /// 30 days.
    OneMonth,
    /// 90 days.
    ThreeMonths,
    /// 180 days.
    SixMonths,
    /// 365 days.
    OneYear,
}

impl Retention {
    /// The period in days.
    pub fn days(self) -> u32 {
        match self {
            Self::OneWeek => 7,
            Self::TwoWeeks => 14,
            Self::OneMonth => 30,
            Self::ThreeMonths => 90,
            Self::SixMonths => 180,
            Self::OneYear => 365,
        }
    }
}

impl Serialize for Retention {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.days())
    }
}

impl Handle<LogGroup> {
    /// `Ref`: the log group's name.
    pub fn name(&self) -> Expr {
        self.reference()
    }

    /// `Fn::GetAtt Arn`: `arn:...:log-group:<name>:*`, which also covers the group's streams.
    pub fn arn(&self) -> Expr {
        self.attribute("Arn")
    }
}
