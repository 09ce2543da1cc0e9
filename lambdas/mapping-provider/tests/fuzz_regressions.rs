#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What the fuzz targets found, each kept as the input that showed it (fuzz/, scripts/fuzz).

use mapping_provider::resources::event_source_mapping::properties::{
    MappingProperties, PropertiesError,
};
use serde_json::json;

/// provider_properties: an unknown property with an empty name was refused as
/// " is not a property of ...", naming nothing.
#[test]
fn an_empty_property_name_is_quoted_in_the_refusal() {
    let crash = json!({"": "arnMaximumBatchingWindowInSeconds89012"});
    let Err(error @ PropertiesError::Invalid(_)) = MappingProperties::parse(&crash) else {
        panic!("accepted");
    };
    let message = error.to_string();
    assert!(
        message.contains(r#""" is not a property of Custom::KinesisEventSourceMapping"#),
        "{message}"
    );
    let PropertiesError::Invalid(problems) = error else {
        unreachable!()
    };
    assert_eq!(problems[0].property, r#""""#);
}
