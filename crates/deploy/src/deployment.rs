//! The deploy and diff flows: packages built and uploaded, the template applied through a
//! change set, outputs reported, and the device's key made sure of.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use aws_sdk_cloudformation::types::ChangeSetType;

use cfn_apply::{self as apply, BucketState, ChangeSet, Proposal, StackState, Waits};
use iot_stack::names::Names;
use iot_stack::{StackDefinition, outputs};

use crate::assets::{self, Package};
use crate::aws::Session;
use crate::device_key::{self, KeyOutcome};
use crate::progress::TerminalProgress;
use crate::testpage_config::StackAddress;

/// How a deploy ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The changes applied; `None` when there were none.
    pub changes: Option<ChangeSet>,
    /// The stack's outputs.
    pub outputs: BTreeMap<String, String>,
    /// What was done about the device's key.
    pub key: KeyOutcome,
}

/// Where to deploy from and what to write.
#[derive(Debug, Clone, Copy)]
pub struct DeployPaths<'a> {
    /// The workspace holding the functions' sources.
    pub workspace: &'a Path,
    /// The test page's config.
    pub config_js: &'a Path,
    /// `--outputs-file`.
    pub outputs_file: Option<&'a Path>,
}

fn change_set_type(stack: &str, state: StackState) -> anyhow::Result<ChangeSetType> {
    match state {
        StackState::Missing | StackState::Reviewing { .. } => Ok(ChangeSetType::Create),
        StackState::Ready { .. } => Ok(ChangeSetType::Update),
        StackState::Blocked(blocked) => {
            Err(anyhow::Error::new(blocked).context(format!("cannot deploy stack `{stack}`")))
        }
    }
}

async fn build(workspace: &Path, definition: &StackDefinition) -> anyhow::Result<Vec<Package>> {
    let workspace = workspace.to_owned();
    let architecture = definition.architecture;
    let packages =
        tokio::task::spawn_blocking(move || assets::build(&workspace, architecture)).await??;
    Ok(packages)
}

/// The change set that would bring the stack to `definition` with these packages, or `None`
/// when nothing would change.
async fn propose(
    cfn: &aws_sdk_cloudformation::Client,
    definition: &StackDefinition,
    bucket: &str,
    packages: &[Package],
    kind: ChangeSetType,
    waits: &Waits,
) -> anyhow::Result<Option<ChangeSet>> {
    let template = iot_stack::synth::render(definition).context("failed to render the template")?;
    let proposal = Proposal {
        stack: definition.stack_name.as_str(),
        template: &template,
        parameters: assets::stack_parameters(bucket, packages),
        kind,
    };
    apply::create_change_set(cfn, proposal, waits).await
}

/// Deploys `definition`.
pub async fn deploy(
    session: &Session,
    definition: &StackDefinition,
    paths: DeployPaths<'_>,
    waits: &Waits,
) -> anyhow::Result<Deployed> {
    let clients = &session.clients;
    let cfn = &clients.cloudformation;
    let stack = definition.stack_name.as_str();
    let names = Names::new(&definition.stack_name);

    crate::one_region::check(session, &definition.stack_name).await?;
    let kind = change_set_type(stack, apply::stack_state(cfn, stack).await?)?;
    let packages = build(paths.workspace, definition).await?;

    let bucket = names.asset_bucket(&session.account, &session.region);
    if apply::ensure_bucket(&clients.s3, &bucket, &session.region).await? == BucketState::Created {
        eprintln!("created asset bucket {bucket} (encrypted, private)");
    }
    let uploads = apply::upload_missing(&clients.s3, &bucket, &packages).await?;
    eprintln!(
        "packages: {} uploaded, {} already in s3://{bucket}",
        uploads.uploaded, uploads.skipped
    );

    let changes = propose(cfn, definition, &bucket, &packages, kind, waits).await?;
    match &changes {
        None => println!("no changes: stack `{stack}` is up to date"),
        Some(change_set) => {
            println!("changes to stack `{stack}`:\n{change_set}");
            let mut progress = TerminalProgress::start("executing the change set");
            apply::execute(cfn, stack, change_set, waits, &mut progress).await?;
        }
    }

    let described = apply::describe_stack(cfn, stack)
        .await?
        .with_context(|| format!("stack `{stack}` is not there after the deploy"))?;
    let outputs = apply::outputs(&described);
    println!("outputs of stack `{stack}`:");
    for (key, value) in &outputs {
        println!("  {key} = {value}");
    }
    if let Some(path) = paths.outputs_file {
        write_outputs(path, stack, &outputs)?;
    }

    let (address, user) = device_address(session, stack, &outputs)?;
    let key = device_key::ensure(&clients.iam, &user, &address, paths.config_js).await?;
    match &key {
        KeyOutcome::Kept { access_key_id } => eprintln!(
            "device key {access_key_id} is still valid; kept in {}",
            paths.config_js.display()
        ),
        KeyOutcome::Created {
            access_key_id,
            deleted,
        } => eprintln!(
            "created device key {access_key_id} for {user} (deleted {deleted} old key(s)); \
             written to {} (mode 0600)",
            paths.config_js.display()
        ),
    }
    Ok(Deployed {
        changes,
        outputs,
        key,
    })
}

/// Where a device finds stack `stack` (from its outputs), and the device user's name.
fn device_address(
    session: &Session,
    stack: &str,
    outputs: &BTreeMap<String, String>,
) -> anyhow::Result<(StackAddress, String)> {
    let output = |key: &str| {
        outputs
            .get(key)
            .cloned()
            .with_context(|| format!("stack `{stack}` has no output {key}"))
    };
    let (kinesis_endpoint, lambda_endpoint) =
        StackAddress::aws_endpoints(&session.region, session.endpoint_url.as_deref());
    let address = StackAddress {
        stack_name: stack.to_owned(),
        region: session.region.clone(),
        stream_name: output(outputs::STREAM)?,
        api_function_name: output(outputs::API_FUNCTION)?,
        kinesis_endpoint,
        lambda_endpoint,
    };
    Ok((address, output(outputs::DEVICE_USER)?))
}

/// `rotate-key`: the device key of the deployed stack `stack` replaced, the new one written
/// to `config_js` before the old one is deleted.
pub async fn rotate_key(
    session: &Session,
    stack: &str,
    config_js: &Path,
) -> anyhow::Result<device_key::Rotated> {
    let cfn = &session.clients.cloudformation;
    let described = match apply::stack_state(cfn, stack).await? {
        StackState::Ready { .. } => apply::describe_stack(cfn, stack).await?,
        StackState::Missing | StackState::Reviewing { .. } => None,
        StackState::Blocked(blocked) => {
            return Err(anyhow::Error::new(blocked)
                .context(format!("cannot rotate the key of stack `{stack}`")));
        }
    };
    let described = described.with_context(|| {
        format!(
            "stack `{stack}` is not deployed in {}; deploy it first",
            session.region
        )
    })?;
    let (address, user) = device_address(session, stack, &apply::outputs(&described))?;
    device_key::rotate(&session.clients.iam, &user, &address, config_js).await
}

fn write_outputs(
    path: &Path,
    stack: &str,
    outputs: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let document = BTreeMap::from([(stack, outputs)]);
    let mut text = serde_json::to_string_pretty(&document).context("outputs as JSON")?;
    text.push('\n');
    std::fs::write(path, text)
        .with_context(|| format!("failed to write the outputs to {}", path.display()))
}

/// The changes a deploy of `definition` would make, or `None`. The change set is deleted
/// after it is described, and so is the empty stack a CREATE change set makes.
pub async fn diff(
    session: &Session,
    definition: &StackDefinition,
    workspace: &Path,
    waits: &Waits,
) -> anyhow::Result<Option<ChangeSet>> {
    let clients = &session.clients;
    let cfn = &clients.cloudformation;
    let stack = definition.stack_name.as_str();
    crate::one_region::check(session, &definition.stack_name).await?;
    let state = apply::stack_state(cfn, stack).await?;
    let made_for_diff = state == StackState::Missing;
    let kind = change_set_type(stack, state)?;
    // The keys depend on the packages' contents; nothing is uploaded.
    let packages = build(workspace, definition).await?;
    let bucket = Names::new(&definition.stack_name).asset_bucket(&session.account, &session.region);
    let changes = propose(cfn, definition, &bucket, &packages, kind, waits).await?;
    if let Some(change_set) = &changes {
        apply::delete_change_set(cfn, &change_set.id).await?;
        if made_for_diff {
            cfn.delete_stack()
                .stack_name(&change_set.stack_id)
                .send()
                .await
                .with_context(|| {
                    format!("failed to delete the empty stack `{stack}` made for the diff")
                })?;
        }
    }
    Ok(changes)
}
