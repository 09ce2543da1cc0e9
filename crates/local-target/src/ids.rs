//! Random ids as AWS' look: version-4 UUIDs, for request ids, message ids and the invocation
//! records of failed batches. They need to be unique, not unguessable, so fastrand's bits will
//! do (the uuid crate's own `v4` would add getrandom).

/// A random version-4 UUID, hyphenated.
pub(crate) fn random_uuid() -> String {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
        .into_uuid()
        .hyphenated()
        .to_string()
}
