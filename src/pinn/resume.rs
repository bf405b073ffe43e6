//! What a resumed training must share with the checkpoint it continues: the settings,
//! compared leaf by leaf, except those a resume may change.

use super::checkpoint::Checkpoint;
use super::config::PinnConfig;
use super::mlp::Mlp;

/// What differs between the checkpoint `c` (with its saved `settings`, if any) and the
/// configuration `config` (whose untrained network is `fresh`), one line per difference;
/// the number of iterations, the checkpoint interval, the validation and
/// `min_loss_reduction` may differ.
pub(super) fn resume_differences(
    config: &PinnConfig,
    c: &Checkpoint,
    fresh: &Mlp,
    settings: Option<&serde_json::Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    let widths = |m: &Mlp| -> Vec<usize> {
        let mut w = vec![m.input_dim()];
        w.extend(m.layers().iter().map(|l| l.outputs));
        w
    };
    let (old, new) = (widths(&c.mlp), widths(fresh));
    if old != new {
        out.push(format!(
            "network layer widths (inputs, hidden…, outputs): checkpoint {old:?}, case {new:?}"
        ));
    }
    if c.mlp.activation() != fresh.activation() {
        out.push(format!(
            "network.activation: checkpoint {}, case {}",
            c.mlp.activation().name(),
            fresh.activation().name()
        ));
    }
    let (a, b) = (c.adam.config(), config.optimizer.adam());
    for (name, x, y) in [
        ("optimizer.learning_rate", a.learning_rate, b.learning_rate),
        ("optimizer.beta1", a.beta1, b.beta1),
        ("optimizer.beta2", a.beta2, b.beta2),
        ("optimizer.eps", a.eps, b.eps),
    ] {
        if x.to_bits() != y.to_bits() {
            out.push(format!("{name}: checkpoint {x:?}, case {y:?}"));
        }
    }
    let Some(saved) = settings else {
        return out;
    };
    // The saved settings name every difference, the network's and optimiser's too; the
    // lines above stay only where they add something.
    let now = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    let mut diffs = Vec::new();
    json_differences("", saved, &now, &mut diffs);
    // An L-BFGS phase may be added to (or dropped from) a run that has not reached it.
    if c.lbfgs.is_none() {
        diffs.retain(|d| !d.starts_with("lbfgs"));
    }
    out.retain(|line| {
        let key = line.split(':').next().unwrap_or_default();
        let key = if key.starts_with("network layer widths") {
            "network.hidden"
        } else {
            key
        };
        !diffs.iter().any(|d| d.starts_with(key))
    });
    out.extend(diffs);
    out.dedup();
    out
}

/// Appends `path: checkpoint A, case B` for every leaf where `a` and `b` differ, skipping
/// the settings a resume may change.
fn json_differences(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if [
        "optimizer.iterations",
        "optimizer.checkpoint_every",
        "lbfgs.steps",
        "validation",
        "min_loss_reduction",
    ]
    .contains(&path)
    {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let null = Value::Null;
                json_differences(
                    &join(k),
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: checkpoint {a}, case {b}")),
        _ => {}
    }
}
