//! Load-time rewrite of int8 weight initialisers to plain f32.
//!
//! The OpenCV Zoo `*_int8bq.onnx` files store their weights as int8 with one scale and zero
//! point per block of `block_size` elements along `axis` (ONNX opset 21 "blocked"
//! `DequantizeLinear`). tract refuses blocked quantisation, so before building the model every
//! `DequantizeLinear` whose inputs are all initialisers is evaluated here,
//! `x = (q - zero_point) * scale`, and replaced by an f32 initialiser of the same name as its
//! output. Graph inputs that no node consumes (SFace lists 29 stale ones) are dropped, since
//! tract would otherwise turn them into extra model inputs.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, TensorProto};

// ONNX `TensorProto.DataType` codes.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT32: i32 = 6;

/// Replaces every constant `DequantizeLinear` of `model` by an f32 initialiser; returns how
/// many nodes were folded.
pub(crate) fn dequantize_weights(model: &mut ModelProto) -> Result<usize, String> {
    let graph = model.graph.as_mut().ok_or("the model has no graph")?;
    let by_name: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();

    let mut folded: Vec<TensorProto> = Vec::new();
    let mut folded_nodes: HashSet<usize> = HashSet::new();
    for (ix, node) in graph.node.iter().enumerate() {
        if node.op_type != "DequantizeLinear" || !node.domain.is_empty() {
            continue;
        }
        let inputs: Option<Vec<&TensorProto>> = node
            .input
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| by_name.get(n.as_str()).copied())
            .collect();
        let Some(inputs) = inputs else { continue }; // not constant: leave it to tract
        let tensor = fold(node, &inputs).map_err(|e| format!("node `{}`: {e}", node.name))?;
        folded.push(tensor);
        folded_nodes.insert(ix);
    }
    let count = folded.len();

    let mut ix = 0;
    graph.node.retain(|_| {
        ix += 1;
        !folded_nodes.contains(&(ix - 1))
    });
    graph.initializer.extend(folded);
    prune(graph);
    Ok(count)
}

/// Drops initialisers and graph inputs that no node or graph output uses any more (keeps
/// the real inputs, which nodes consume).
fn prune(graph: &mut GraphProto) {
    let used: HashSet<String> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().cloned())
        .chain(graph.output.iter().map(|o| o.name.clone()))
        .collect();
    graph.initializer.retain(|t| used.contains(&t.name));
    graph.input.retain(|i| used.contains(&i.name));
}

/// Evaluates one `DequantizeLinear(q, scale[, zero_point])`.
fn fold(node: &NodeProto, inputs: &[&TensorProto]) -> Result<TensorProto, String> {
    let (q, scale) = match inputs {
        [q, s] | [q, s, _] => (*q, *s),
        _ => return Err(format!("expected 2 or 3 inputs, got {}", inputs.len())),
    };
    let zero = inputs.get(2).copied();
    let dims: Vec<usize> = q
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
        .collect::<Result<_, _>>()?;
    let values = integers(q)?;
    let count: usize = dims.iter().product();
    if values.len() != count {
        return Err(format!("{} values for shape {dims:?}", values.len()));
    }
    let scales = floats(scale)?;
    let zeros = match zero {
        Some(z) => integers(z)?,
        None => vec![0; scales.len()],
    };
    if zeros.len() != scales.len() {
        return Err(format!(
            "{} zero points for {} scales",
            zeros.len(),
            scales.len()
        ));
    }

    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name).map(|a| a.i);
    let rank = dims.len();
    let axis = attr("axis").unwrap_or(1);
    let block = attr("block_size").unwrap_or(0);
    let block = usize::try_from(block).map_err(|_| format!("negative block_size {block}"))?;

    let out: Vec<f32> = if scales.len() == 1 && block == 0 {
        // Per-tensor.
        values
            .iter()
            .map(|&v| (v - zeros[0]) as f32 * scales[0])
            .collect()
    } else {
        if rank == 0 {
            return Err("per-axis scales on a scalar".into());
        }
        let axis = if axis < 0 { axis + rank as i64 } else { axis };
        let axis = usize::try_from(axis)
            .ok()
            .filter(|&a| a < rank)
            .ok_or_else(|| format!("axis {axis} out of range for rank {rank}"))?;
        let n = dims[axis];
        let inner: usize = dims[axis + 1..].iter().product();
        // Per-axis is blocked quantisation with blocks of one element and one block per index.
        let (block, blocks) = if block == 0 {
            (1, n)
        } else {
            (block, n.div_ceil(block))
        };
        let outer: usize = dims[..axis].iter().product();
        if scales.len() != outer * blocks * inner {
            return Err(format!(
                "{} scales for shape {dims:?}, axis {axis}, block {block}",
                scales.len()
            ));
        }
        let mut out = Vec::with_capacity(count);
        for o in 0..outer {
            for i in 0..n {
                for k in 0..inner {
                    let v = values[(o * n + i) * inner + k];
                    let s = (o * blocks + i / block) * inner + k;
                    out.push((v - zeros[s]) as f32 * scales[s]);
                }
            }
        }
        out
    };

    Ok(TensorProto {
        name: node.output.first().cloned().ok_or("no output")?,
        dims: q.dims.clone(),
        data_type: FLOAT,
        raw_data: out.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..TensorProto::default()
    })
}

/// The integer values of an int8 / uint8 / int32 initialiser.
fn integers(t: &TensorProto) -> Result<Vec<i32>, String> {
    match t.data_type {
        INT8 if !t.raw_data.is_empty() => {
            Ok(t.raw_data.iter().map(|&b| i32::from(b as i8)).collect())
        }
        UINT8 if !t.raw_data.is_empty() => Ok(t.raw_data.iter().map(|&b| i32::from(b)).collect()),
        INT32 if !t.raw_data.is_empty() => {
            if !t.raw_data.len().is_multiple_of(4) {
                return Err(format!("`{}`: raw int32 data of odd length", t.name));
            }
            Ok(t.raw_data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        }
        // Without raw data, ONNX stores int8, uint8 and int32 in `int32_data`.
        INT8 | UINT8 | INT32 => Ok(t.int32_data.clone()),
        other => Err(format!("`{}`: unsupported quantised type {other}", t.name)),
    }
}

/// The values of an f32 initialiser.
fn floats(t: &TensorProto) -> Result<Vec<f32>, String> {
    if t.data_type != FLOAT {
        return Err(format!(
            "`{}`: scale of type {} (expected float)",
            t.name, t.data_type
        ));
    }
    if t.raw_data.is_empty() {
        return Ok(t.float_data.clone());
    }
    if !t.raw_data.len().is_multiple_of(4) {
        return Err(format!("`{}`: raw float data of odd length", t.name));
    }
    Ok(t.raw_data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use tract_onnx::pb::{AttributeProto, GraphProto, ValueInfoProto};

    use super::*;

    fn int8(name: &str, dims: &[i64], v: &[i8]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: INT8,
            raw_data: v.iter().map(|&x| x as u8).collect(),
            ..TensorProto::default()
        }
    }

    fn attr(name: &str, i: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            i,
            ..AttributeProto::default()
        }
    }

    #[test]
    fn blocked_weights_become_f32_and_stale_inputs_go() {
        // 2×5 weights, blocks of 2 along axis 1 (the last block is short).
        let q = int8("w_q", &[2, 5], &[1, 2, 3, 4, 5, -1, -2, -3, -4, -5]);
        let scale = TensorProto {
            name: "w_s".into(),
            dims: vec![2, 3],
            data_type: FLOAT,
            float_data: vec![1.0, 0.5, 2.0, 1.0, 10.0, 0.25],
            ..TensorProto::default()
        };
        let zero = int8("w_z", &[2, 3], &[0, 1, 0, -1, 0, 1]);
        let dq = NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["w_q".into(), "w_s".into(), "w_z".into()],
            output: vec!["w".into()],
            attribute: vec![attr("axis", 1), attr("block_size", 2)],
            ..NodeProto::default()
        };
        let matmul = NodeProto {
            op_type: "MatMul".into(),
            input: vec!["x".into(), "w".into()],
            output: vec!["y".into()],
            ..NodeProto::default()
        };
        let io = |name: &str| ValueInfoProto {
            name: name.into(),
            ..ValueInfoProto::default()
        };
        let mut model = ModelProto {
            graph: Some(GraphProto {
                node: vec![dq, matmul],
                initializer: vec![q, scale, zero],
                input: vec![io("x"), io("stale")],
                output: vec![io("y")],
                ..GraphProto::default()
            }),
            ..ModelProto::default()
        };
        assert_eq!(dequantize_weights(&mut model), Ok(1));
        let graph = model.graph.unwrap();
        assert_eq!(graph.node.len(), 1);
        assert_eq!(
            graph
                .input
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>(),
            ["x"]
        );
        assert_eq!(graph.initializer.len(), 1);
        let w = &graph.initializer[0];
        assert_eq!(
            (w.name.as_str(), w.dims.as_slice(), w.data_type),
            ("w", &[2i64, 5][..], FLOAT)
        );
        assert_eq!(
            floats(w).unwrap(),
            [1.0, 2.0, 1.0, 1.5, 10.0, 0.0, -1.0, -30.0, -40.0, -1.5]
        );
    }

    #[test]
    fn inconsistent_quantisation_is_an_error() {
        let q = int8("q", &[4], &[1, 2, 3, 4]);
        let s = TensorProto {
            name: "s".into(),
            dims: vec![3],
            data_type: FLOAT,
            float_data: vec![1.0; 3],
            ..TensorProto::default()
        };
        let node = NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["q".into(), "s".into()],
            output: vec!["x".into()],
            attribute: vec![attr("axis", 0), attr("block_size", 2)],
            ..NodeProto::default()
        };
        assert!(fold(&node, &[&q, &s]).is_err());
        let node = NodeProto {
            attribute: vec![attr("axis", 3)],
            ..node
        };
        assert!(fold(&node, &[&q, &s]).is_err());
    }
}
