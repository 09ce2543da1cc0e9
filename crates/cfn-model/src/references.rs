//! Finds every reference in a template and checks that it names something the template has.
//!
//! Works on the rendered JSON of each resource's properties and each output, so it sees
//! references however they were written: through a handle, by hand, or inside a `Fn::Sub`.

use serde_json::Value;

use crate::error::{Error, Problem};
use crate::expr::PseudoParameter;
use crate::template::{Known, Template};

const PARAMETER_OR_RESOURCE: &str = "parameter or resource";
const RESOURCE: &str = "resource";

/// Every dangling or malformed reference in `template`.
pub(crate) fn check(template: &Template) -> Result<Vec<Problem>, Error> {
    let known = template.known();
    let referrers = template.referrers()?;
    let mut problems = Vec::new();
    for (from, value) in &referrers.values {
        walk(
            value,
            &Context {
                from,
                known: &known,
            },
            &mut problems,
        );
    }
    for (logical_id, targets) in referrers.depends_on {
        for target in targets {
            if !known.resources.contains(target.as_str()) {
                problems.push(Problem::DanglingReference {
                    from: format!("resource `{logical_id}`"),
                    target: target.clone(),
                    via: "DependsOn",
                    expected: RESOURCE,
                });
            }
        }
    }
    Ok(problems)
}

struct Context<'a> {
    from: &'a str,
    known: &'a Known<'a>,
}

impl Context<'_> {
    fn check_ref(&self, target: &str, via: &'static str, problems: &mut Vec<Problem>) {
        let known = PseudoParameter::from_name(target).is_some()
            || self.known.parameters.contains(target)
            || self.known.resources.contains(target);
        if !known {
            problems.push(self.dangling(target, via, PARAMETER_OR_RESOURCE));
        }
    }

    fn check_get_att(&self, target: &str, via: &'static str, problems: &mut Vec<Problem>) {
        if !self.known.resources.contains(target) {
            problems.push(self.dangling(target, via, RESOURCE));
        }
    }

    fn dangling(&self, target: &str, via: &'static str, expected: &'static str) -> Problem {
        Problem::DanglingReference {
            from: self.from.to_owned(),
            target: target.to_owned(),
            via,
            expected,
        }
    }

    fn malformed(&self, function: &'static str, reason: &'static str) -> Problem {
        Problem::MalformedIntrinsic {
            from: self.from.to_owned(),
            function,
            reason,
        }
    }
}

fn walk(value: &Value, context: &Context<'_>, problems: &mut Vec<Problem>) {
    match value {
        Value::Array(items) => {
            for item in items {
                walk(item, context, problems);
            }
        }
        Value::Object(map) if map.len() == 1 => {
            if let Some(target) = map.get("Ref") {
                match target.as_str() {
                    Some(target) => context.check_ref(target, "Ref", problems),
                    None => problems.push(context.malformed("Ref", "the target is not a string")),
                }
            } else if let Some(arguments) = map.get("Fn::GetAtt") {
                check_get_att(arguments, context, problems);
            } else if let Some(arguments) = map.get("Fn::Sub") {
                check_sub(arguments, context, problems);
            } else {
                for item in map.values() {
                    walk(item, context, problems);
                }
            }
        }
        Value::Object(map) => {
            for item in map.values() {
                walk(item, context, problems);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// `["Id", "Attribute"]` or `"Id.Attribute"`.
fn check_get_att(arguments: &Value, context: &Context<'_>, problems: &mut Vec<Problem>) {
    let target = match arguments {
        Value::Array(items) if items.len() == 2 => items[0].as_str(),
        Value::String(text) => text.split_once('.').map(|(target, _)| target),
        _ => None,
    };
    match target {
        Some(target) => context.check_get_att(target, "Fn::GetAtt", problems),
        None => problems.push(context.malformed(
            "Fn::GetAtt",
            "expected [logical id, attribute] or \"LogicalId.Attribute\"",
        )),
    }
}

/// `"text"` or `["text", {local variables}]`.
fn check_sub(arguments: &Value, context: &Context<'_>, problems: &mut Vec<Problem>) {
    let (text, locals) = match arguments {
        Value::String(text) => (text.as_str(), None),
        Value::Array(items) if items.len() == 2 => match (&items[0], &items[1]) {
            (Value::String(text), Value::Object(locals)) => {
                for item in locals.values() {
                    walk(item, context, problems);
                }
                (text.as_str(), Some(locals))
            }
            _ => {
                problems.push(context.malformed("Fn::Sub", "expected [text, {variables}]"));
                return;
            }
        },
        _ => {
            problems.push(context.malformed("Fn::Sub", "expected text or [text, {variables}]"));
            return;
        }
    };
    let Some(variables) = sub_variables(text) else {
        problems.push(Problem::MalformedSub {
            from: context.from.to_owned(),
            text: text.to_owned(),
        });
        return;
    };
    for variable in variables {
        if locals.is_some_and(|locals| locals.contains_key(variable)) {
            continue;
        }
        // `${Name.Attribute}` is a GetAtt; a pseudo parameter has `::`, never a dot.
        match variable.split_once('.') {
            Some((target, _)) => context.check_get_att(target, "Fn::Sub", problems),
            None => context.check_ref(variable, "Fn::Sub", problems),
        }
    }
}

/// The names inside `${...}` of a `Fn::Sub` string, skipping literal `${!...}`; `None` when a
/// `${` is not closed or is empty.
fn sub_variables(text: &str) -> Option<Vec<&str>> {
    let mut variables = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        if let Some(literal) = after.strip_prefix('!') {
            rest = literal;
            continue;
        }
        let end = after.find('}')?;
        let name = after[..end].trim();
        if name.is_empty() {
            return None;
        }
        variables.push(name);
        rest = &after[end + 1..];
    }
    Some(variables)
}

#[cfg(test)]
mod tests {
    use super::sub_variables;

    #[test]
    fn sub_variables_are_found_and_literals_skipped() {
        assert_eq!(
            sub_variables("arn:${AWS::Partition}:s3:::${Bucket}/*"),
            Some(vec!["AWS::Partition", "Bucket"])
        );
        assert_eq!(
            sub_variables("${Fn.Arn}-${!NotAVariable}"),
            Some(vec!["Fn.Arn"])
        );
        assert_eq!(sub_variables("no variables"), Some(vec![]));
        assert_eq!(sub_variables("open ${Bucket"), None);
        assert_eq!(sub_variables("empty ${}"), None);
    }
}
