//! The physical names of the stack's resources, all derived from the stack name in one place.

use crate::stack_name::StackName;

/// The four Lambda functions of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// Kinesis -> S3 archive.
    Archiver,
    /// Kinesis -> DynamoDB table and CloudWatch metrics.
    Writer,
    /// Synchronous queries of a sensor's readings.
    QueryApi,
    /// The custom-resource provider that creates the event-source mappings.
    MappingProvider,
}

impl FunctionKind {
    /// Every function.
    pub const ALL: [Self; 4] = [
        Self::Archiver,
        Self::Writer,
        Self::QueryApi,
        Self::MappingProvider,
    ];

    /// The part of the physical name after `<stack>-`, which is also the logical id (the
    /// 2015 original's names, kept: clients look functions up by them).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Archiver => "IoTS3EventProcessor",
            Self::Writer => "IoTDDBEventProcessor",
            Self::QueryApi => "IoTAPI",
            Self::MappingProvider => "EventSourceMappingProvider",
        }
    }
}

/// Derives every physical name from the stack name.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    stack: &'a StackName,
}

impl<'a> Names<'a> {
    /// The names of stack `stack`.
    pub fn new(stack: &'a StackName) -> Self {
        Self { stack }
    }

    /// `<stack>-<suffix>`, such as `demo-IoTAPI`.
    pub fn function(&self, kind: FunctionKind) -> String {
        format!("{}-{}", self.stack, kind.suffix())
    }

    /// `<function>-role`.
    pub fn role(&self, kind: FunctionKind) -> String {
        format!("{}-role", self.function(kind))
    }

    /// `/aws/lambda/<function>`: where Lambda writes a function's logs by default, so that
    /// tools that assume it (the console, `cargo lambda`, `sam logs`) find them.
    pub fn log_group(&self, kind: FunctionKind) -> String {
        format!("/aws/lambda/{}", self.function(kind))
    }

    /// `<function>-failures`: the on-failure destination of a stream consumer.
    pub fn failure_queue(&self, kind: FunctionKind) -> String {
        format!("{}-failures", self.function(kind))
    }

    /// The stack's own name: the dashboard's, and the prefix of its stack-level alarms.
    pub fn stack(&self) -> String {
        self.stack.to_string()
    }

    /// `<stack>-alarms`: the topic the alarms notify.
    pub fn alarm_topic(&self) -> String {
        format!("{}-alarms", self.stack)
    }

    /// `<stack>-IoTEventStream`.
    pub fn stream(&self) -> String {
        format!("{}-IoTEventStream", self.stack)
    }

    /// `<stack>-SensorData`.
    pub fn table(&self) -> String {
        format!("{}-SensorData", self.stack)
    }

    /// `<stack>-eventarchive-${AWS::AccountId}`, a `Fn::Sub` text: bucket names are global,
    /// so the account id keeps two accounts' stacks of the same name apart.
    pub fn archive_bucket_sub(&self) -> String {
        format!("{}-eventarchive-${{AWS::AccountId}}", self.stack)
    }

    /// The archive bucket's name in account `account_id`.
    pub fn archive_bucket(&self, account_id: &str) -> String {
        format!("{}-eventarchive-{account_id}", self.stack)
    }

    /// The deployer's asset bucket (the functions' packages), one per stack, account and
    /// region. A stack name lives in one region of an account at a time (the archive bucket
    /// and the IAM names are global, and the deployer refuses a second region up front), but
    /// a stack deleted in one region may be deployed in another while its asset bucket is
    /// still there: the region keeps the two apart. The region enters as 8 hex digits of its SHA-256 so that the longest name fits S3's 63
    /// characters (32 + `-assets-` + 12 + `-` + 8 = 61), where `us-gov-west-1` in full
    /// would not.
    pub fn asset_bucket(&self, account_id: &str, region: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(region.as_bytes());
        format!(
            "{}-assets-{account_id}-{}",
            self.stack,
            &hex::encode(digest)[..8]
        )
    }

    /// `<stack>-device`: the IAM user devices (and the test page) sign their calls as.
    pub fn device_user(&self) -> String {
        format!("{}-device", self.stack)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Every derived name with the most characters its service allows.
    fn derived_names(names: &Names<'_>) -> Vec<(String, usize)> {
        // The longest account id there is: 12 digits.
        let mut all = vec![
            (names.archive_bucket("123456789012"), 63),
            (names.asset_bucket("123456789012", "ap-southeast-3"), 63),
            (names.stream(), 128),
            (names.table(), 255),
            (names.device_user(), 64),
        ];
        for kind in FunctionKind::ALL {
            all.push((names.function(kind), 64));
            all.push((names.role(kind), 64));
            all.push((names.log_group(kind), 512));
            all.push((names.failure_queue(kind), 80));
        }
        all
    }

    #[test]
    fn every_derived_name_fits_its_limit_at_the_longest_stack_name() {
        let stack: StackName = "a".repeat(StackName::MAX_LEN).parse().unwrap();
        for (name, limit) in derived_names(&Names::new(&stack)) {
            assert!(name.len() <= limit, "{name} has {} > {limit}", name.len());
        }
    }

    #[test]
    fn the_maximum_is_tight_some_name_is_exactly_at_its_limit() {
        // So one more character in the stack name would break that limit.
        let stack: StackName = "a".repeat(StackName::MAX_LEN).parse().unwrap();
        let at_limit: Vec<String> = derived_names(&Names::new(&stack))
            .into_iter()
            .filter(|(name, limit)| name.len() == *limit)
            .map(|(name, _)| name)
            .collect();
        assert!(!at_limit.is_empty(), "StackName::MAX_LEN could be larger");
    }

    #[test]
    fn names_read_as_designed() {
        let stack: StackName = "demo".parse().unwrap();
        let names = Names::new(&stack);
        assert_eq!(
            names.function(FunctionKind::Archiver),
            "demo-IoTS3EventProcessor"
        );
        assert_eq!(
            names.function(FunctionKind::Writer),
            "demo-IoTDDBEventProcessor"
        );
        assert_eq!(names.function(FunctionKind::QueryApi), "demo-IoTAPI");
        assert_eq!(
            names.function(FunctionKind::MappingProvider),
            "demo-EventSourceMappingProvider"
        );
        assert_eq!(names.table(), "demo-SensorData");
        assert_eq!(
            names.archive_bucket("123456789012"),
            "demo-eventarchive-123456789012"
        );
        assert_eq!(
            names.log_group(FunctionKind::QueryApi),
            "/aws/lambda/demo-IoTAPI"
        );
    }
}
