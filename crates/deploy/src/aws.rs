//! Where the deployer talks to: the `--profile`, `--region` and `--endpoint-url` flags, checked
//! without any call, then turned into one SDK configuration from the standard AWS chain, the
//! account from STS, and clients that count every request they send.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::config::{ConfigBag, Intercept, ProvideCredentials, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::os_shim_internal::{Env, Fs};
use clap::Args;

/// Flags naming the AWS account, region and endpoint.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Named profile of the shared AWS config and credentials files (default: `AWS_PROFILE`,
    /// else `default`).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Region to deploy to, such as `eu-west-1` (default: `AWS_REGION`, else the profile's).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Send every AWS call to this URL instead of AWS: moto or another AWS-compatible
    /// endpoint, such as `http://127.0.0.1:5000`.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// A bad flag or a missing piece of the AWS setup, found before any call.
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    /// `--region` or the configured region is not a region name.
    #[error(
        "`{region}` is not an AWS region name; give one such as `us-east-1` or `eu-west-1` \
         (from --region, AWS_REGION or the profile's `region`)"
    )]
    BadRegion {
        /// The value given.
        region: String,
    },
    /// No region anywhere.
    #[error(
        "no AWS region is configured; pass --region (such as `--region eu-west-1`), set \
         AWS_REGION, or set `region` in the profile"
    )]
    NoRegion,
    /// `--endpoint-url` is not an http(s) URL.
    #[error(
        "--endpoint-url `{url}` is not an http:// or https:// URL with a host, such as \
         `http://127.0.0.1:5000`"
    )]
    BadEndpoint {
        /// The value given.
        url: String,
    },
    /// `--profile` is empty.
    #[error("--profile is empty; give the name of a profile of ~/.aws/config")]
    EmptyProfile,
    /// The profile is in neither shared file.
    #[error(
        "profile `{profile}` is not defined in the shared AWS config or credentials files \
         (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE); \
         {known}"
    )]
    UnknownProfile {
        /// The profile asked for.
        profile: String,
        /// The profiles that exist, as a sentence.
        known: String,
    },
    /// The shared files could not be read or parsed.
    #[error("reading the shared AWS config files: {0}")]
    ProfileFiles(String),
    /// The credential chain found nothing.
    #[error(
        "no AWS credentials found{profile}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         configure a profile with `aws configure` (or `aws sso login --profile NAME`) and pass \
         --profile, or run where a role is available ({reason})"
    )]
    NoCredentials {
        /// ` for profile X`, or nothing.
        profile: String,
        /// What the chain reported.
        reason: String,
    },
}

/// [`AwsArgs`] after the checks that need no call.
#[derive(Debug, Clone)]
pub struct AwsTarget {
    profile: Option<String>,
    region: Option<String>,
    endpoint_url: Option<String>,
}

impl AwsArgs {
    /// Checks the flags' shapes (no file read, no call).
    pub fn validate(&self) -> Result<AwsTarget, AwsSetupError> {
        if let Some(region) = &self.region {
            check_region(region)?;
        }
        if let Some(url) = &self.endpoint_url {
            check_endpoint(url)?;
        }
        if self.profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(AwsSetupError::EmptyProfile);
        }
        Ok(AwsTarget {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        })
    }
}

/// A region name: two letters, then hyphen-separated words, then a number (`us-east-1`,
/// `us-gov-west-1`, `ap-southeast-3`).
pub fn check_region(region: &str) -> Result<(), AwsSetupError> {
    let bad = || AwsSetupError::BadRegion {
        region: region.to_owned(),
    };
    let parts: Vec<&str> = region.split('-').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return Err(bad());
    };
    let letters = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    let ok = first.len() == 2
        && letters(first)
        && !middle.is_empty()
        && middle.iter().all(|part| letters(part))
        && !last.is_empty()
        && last.len() <= 2
        && last.bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(()) } else { Err(bad()) }
}

fn check_endpoint(url: &str) -> Result<(), AwsSetupError> {
    let bad = || AwsSetupError::BadEndpoint {
        url: url.to_owned(),
    };
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if scheme_ok && uri.host().is_some_and(|host| !host.is_empty()) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Every request the clients sent, by `service.operation`; retries count as requests.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<String, usize>>>);

impl CallCounter {
    /// Requests sent so far.
    pub fn total(&self) -> usize {
        self.counts().values().sum()
    }

    /// Requests sent so far by `service.operation`.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".to_owned());
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name)
            .or_default() += 1;
        Ok(())
    }
}

/// The clients of one run, sharing a configuration and a call counter.
#[derive(Debug, Clone)]
pub struct Clients {
    /// CloudFormation.
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// S3 (path-style when an endpoint is given: AWS-compatible servers expect it).
    pub s3: aws_sdk_s3::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// CloudWatch (the stack's alarms, `verify`'s metric).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// DynamoDB (`verify`'s look at the table).
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    /// Clients of `config`, each request counted by `counter`.
    pub fn new(config: &SdkConfig, counter: &CallCounter, path_style: bool) -> Self {
        Self {
            cloudformation: aws_sdk_cloudformation::Client::from_conf(
                aws_sdk_cloudformation::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(config)
                    .force_path_style(path_style)
                    .interceptor(counter.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
        }
    }
}

/// A connected run: clients, the region and account they act in, and the endpoint.
#[derive(Debug, Clone)]
pub struct Session {
    /// The clients.
    pub clients: Clients,
    /// The region.
    pub region: String,
    /// The account, from STS.
    pub account: String,
    /// `--endpoint-url`, when given.
    pub endpoint_url: Option<String>,
    /// Requests sent.
    pub calls: CallCounter,
}

impl AwsTarget {
    /// The SDK configuration from the standard chain with these flags applied, after checking
    /// the profile exists, a valid region is set and credentials resolve. No AWS API call is
    /// made (credentials may come from a local process or SSO cache, never from an AWS API of
    /// the stack's).
    pub async fn sdk_config(&self) -> Result<(SdkConfig, String), AwsSetupError> {
        if let Some(profile) = &self.profile {
            check_profile_exists(profile).await?;
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(AwsSetupError::NoRegion)?;
        check_region(&region)?;
        let no_credentials = |reason: String| AwsSetupError::NoCredentials {
            profile: self
                .profile
                .as_ref()
                .map(|p| format!(" for profile `{p}`"))
                .unwrap_or_default(),
            reason,
        };
        let provider = config
            .credentials_provider()
            .ok_or_else(|| no_credentials("no credential provider".to_owned()))?;
        provider
            .provide_credentials()
            .await
            .map_err(|error| no_credentials(DisplayErrorContext(&error).to_string()))?;
        Ok((config, region))
    }

    /// Connects: configuration, clients, and the account from STS.
    pub async fn connect(&self) -> anyhow::Result<Session> {
        use anyhow::Context;
        let (config, region) = self.sdk_config().await?;
        let calls = CallCounter::default();
        let clients = Clients::new(&config, &calls, self.endpoint_url.is_some());
        let identity = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .context("failed to read the account from STS (GetCallerIdentity)")?;
        let account = identity
            .account()
            .context("STS GetCallerIdentity returned no account")?
            .to_owned();
        Ok(Session {
            clients,
            region,
            account,
            endpoint_url: self.endpoint_url.clone(),
            calls,
        })
    }
}

async fn check_profile_exists(profile: &str) -> Result<(), AwsSetupError> {
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let set = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &files,
        Some(Cow::Owned(profile.to_owned())),
    )
    .await
    .map_err(|error| AwsSetupError::ProfileFiles(error.to_string()))?;
    if set.get_profile(profile).is_some() {
        return Ok(());
    }
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    let known = if names.is_empty() {
        "no profile is defined there".to_owned()
    } else {
        format!("the defined profiles are: {}", names.join(", "))
    };
    Err(AwsSetupError::UnknownProfile {
        profile: profile.to_owned(),
        known,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn region_names_are_checked_by_shape() {
        for good in ["us-east-1", "eu-west-3", "us-gov-west-1", "ap-southeast-3"] {
            check_region(good).unwrap();
        }
        for bad in [
            "",
            "us-east",
            "useast1",
            "US-EAST-1",
            "us-east-1a",
            "u-east-1",
            "mars",
        ] {
            let message = check_region(bad).unwrap_err().to_string();
            assert!(
                message.contains(&format!("`{bad}` is not an AWS region")),
                "{message}"
            );
        }
    }

    #[test]
    fn endpoints_must_be_http_urls_with_a_host() {
        for good in ["http://127.0.0.1:5000", "https://s3.example.com"] {
            check_endpoint(good).unwrap();
        }
        for bad in ["127.0.0.1:5000", "ftp://host", "http://", "not a url"] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }
}
