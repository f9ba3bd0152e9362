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

/// The ONNX model of `graphs`' inference graph with the parameter and state values `values` (by name).
let onnxOf (net: Compile.NetworkInfo) (graphs: StepGraphs) (values: IReadOnlyDictionary<string, HostTensor>)
           (opset: int) : byte[] =
    let graph = Nn.Runtime.Rewrite.Passes.Optimize graphs.Predict
    let order = net.Decl.Inputs |> List.map (fun p -> p.Name) |> ResizeArray
    OnnxExport.ToBytes(graph, values, order, net.Decl.Name, opset)

/// The ONNX model of the network `net` of `c` with the weights `weights` (a .safetensors file or a run folder).
let onnxBytes (c: Compile.Compiled) (net: Compile.NetworkInfo) (weights: string) (opset: int) : byte[] =
    let graphs = graphsOf c net
    let values = Checkpoint.readWeights weights (Seq.append graphs.Predict.Params graphs.Predict.States)
    onnxOf net graphs values opset
