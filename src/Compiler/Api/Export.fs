/// ONNX export of a trained network: its inference graph (evaluation mode: no dropout, batch norm on its running
/// statistics) with the weights of a run, through the runtime's exporter (src/Runtime/Export).
module internal Nn.Compiler.Export

open System.Collections.Generic
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Export

/// The ONNX opset written unless another is asked for.
let defaultOpset = 17

/// The inference graph of `net` as `nn predict` builds it (the train block's settings, if any).
let graphsOf (c: Compile.Compiled) (net: Compile.NetworkInfo) : StepGraphs =
    Checkpoint.graphsFor c (Checkpoint.blockFor c net.Decl.Name false) net

/// What the model tells besides its graph: the table encoding its inputs expect (a categorical column's vocabulary,
/// the fill of empty cells: pre-processing the caller applies, as scikit-learn's encoders run before a model) and
/// the class names, as metadata_props, and the table's encoding in words as the doc_string.
type ExportInfo =
    { Table: TableEncoding option
      Classes: string[] option }

/// Nothing besides the graph.
let noInfo = { Table = None; Classes = None }

/// What a checkpoint or run folder remembers of its training data (the table encoding, the class names).
let infoOf (weights: string) : ExportInfo =
    { Table = Checkpoint.table weights; Classes = Checkpoint.classNames weights }

/// The ONNX model of `graphs`' inference graph with the parameter and state values `values` (by name).
let onnxOf (net: Compile.NetworkInfo) (graphs: StepGraphs) (values: IReadOnlyDictionary<string, HostTensor>)
           (info: ExportInfo) (opset: int) : byte[] =
    let graph = Nn.Runtime.Rewrite.Passes.Optimize graphs.Predict
    let order = net.Decl.Inputs |> List.map (fun p -> p.Name) |> ResizeArray
    let metadata =
        [ for t in Option.toList info.Table -> KeyValuePair(OnnxExport.TableMetadataKey, t.ToJson())
          for c in Option.toList info.Classes -> KeyValuePair(OnnxExport.ClassesMetadataKey, String.concat "\n" c) ]
    let doc = info.Table |> Option.map OnnxExport.Describe |> Option.toObj
    OnnxExport.ToBytes(graph, values, order, net.Decl.Name, opset, ResizeArray metadata, doc)

/// The ONNX model of the network `net` of `c` with the weights `weights` (a .safetensors file or a run folder).
let onnxBytes (c: Compile.Compiled) (net: Compile.NetworkInfo) (weights: string) (opset: int) : byte[] =
    let graphs = graphsOf c net
    let values = Checkpoint.readWeights weights (Seq.append graphs.Predict.Params graphs.Predict.States)
    onnxOf net graphs values (infoOf weights) opset
