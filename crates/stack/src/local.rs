//! The stack definition on the local target: the names, the stream's shape and each
//! consumer's event-source mapping come from the same definition as the template, so the
//! local stack behaves as the deployed one. Only where it runs (state folder, address, test
//! page folder) is the caller's to say.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use local_target::LocalSettings;
use local_target::consumers::ConsumerSettings;
use local_target::storage::stream::StreamShape;

use crate::StackDefinition;
use crate::mapping::{self, MappingSettings};
use crate::names::{FunctionKind, Names};
use crate::stream::RETENTION_HOURS;

/// The region the local target claims to be in (signatures name a region).
pub const LOCAL_REGION: &str = "us-east-1";
/// The account id of local ARNs.
pub const LOCAL_ACCOUNT: &str = "000000000000";

/// Where a local target runs: not part of the definition.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The state folder (stream, table, archive, metrics, device key).
    pub state_dir: PathBuf,
    /// The endpoint's address.
    pub listen: SocketAddr,
    /// The test page's folder, served at `/`.
    pub testpage_dir: PathBuf,
}

/// The local target's settings for `definition`, placed at `placement`.
pub fn settings(definition: &StackDefinition, placement: Placement) -> LocalSettings {
    let names = Names::new(&definition.stack_name);
    let consumer = |kind: FunctionKind, mapping: &MappingSettings| ConsumerSettings {
        function_name: names.function(kind),
        role_arn: format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/{}", names.role(kind)),
        batch_size: mapping.batch_size as usize,
        batching_window: Duration::from_secs(mapping.maximum_batching_window_in_seconds.into()),
        maximum_retry_attempts: mapping.maximum_retry_attempts,
        maximum_record_age: Duration::from_secs(mapping.maximum_record_age_in_seconds.into()),
        bisect_batch_on_function_error: true,
        parallelization_factor: definition.parallelization_factor.get().into(),
        retry_pause: Duration::from_millis(100),
    };
    LocalSettings {
        region: LOCAL_REGION.to_owned(),
        account_id: LOCAL_ACCOUNT.to_owned(),
        stream_name: names.stream(),
        stream_shape: StreamShape {
            shard_count: definition.capacity.initial_shards(),
            retention_hours: RETENTION_HOURS,
        },
        query_function_name: names.function(FunctionKind::QueryApi),
        archiver: consumer(FunctionKind::Archiver, &mapping::ARCHIVER),
        writer: consumer(FunctionKind::Writer, &mapping::WRITER),
        state_dir: placement.state_dir,
        listen: placement.listen,
        testpage_dir: placement.testpage_dir,
    }
}
