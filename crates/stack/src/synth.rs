//! `synth`: the stack's template as text.

use crate::StackDefinition;

/// The template of `definition`, as the deterministic JSON checked in under `infra/`.
pub fn render(definition: &StackDefinition) -> Result<String, cfn_model::Error> {
    crate::template(definition)?.to_json()
}
