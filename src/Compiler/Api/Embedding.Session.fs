// The embedding API's running side: an inference session (predict, save, load) and a trainer (fit on arrays).
// Both run the step graphs of `TrainStep` through one executor made in `Embed.executor`.
namespace Nn

open System
open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Checkpoints
open Nn.Compiler

/// Helpers shared by the embedding types: diagnostics in the user's file names, errors as NnException.
module internal Embed =
    /// A compiled program with the names the user gave (full path -> name) and every source text.
    type Program =
        { Compiled: Compile.Compiled option
          Names: Map<string, string>
          Sources: Map<string, string>
          /// the name of the program's own file, for errors without a position
          FileName: string }

    let program compiled names sources fileName =
        { Compiled = compiled; Names = names; Sources = sources; FileName = fileName }

    let private rename (p: Program) (s: Span) =
        match p.Names.TryFind s.File with
        | Some n -> s.WithFile n
        | None -> s

    let private sourceOf (p: Program) (file: string) =
        let full = p.Names |> Map.tryFindKey (fun _ n -> n = file) |> Option.defaultValue file
        match p.Sources.TryFind full with
        | Some t -> Some t
        | None -> try (if IO.File.Exists full then Some(IO.File.ReadAllText full) else None) with _ -> None

    /// A diagnostic with the user's file names and its rendered text.
    let diagnostic (p: Program) (d: Diagnostic) =
        let d =
            { d with
                Span = rename p d.Span
                Notes = d.Notes |> List.map (fun n -> { n with Span = n.Span |> Option.map (rename p) }) }
        NnDiagnostic(d, (if d.Span.File = "<none>" then "" else d.Span.File), Diagnostic.render (sourceOf p) d)

    /// An error without a source position, reported against the program's file.
    let error (p: Program) code message =
        NnException [| diagnostic p (Diagnostic.error code (Span.make p.FileName (0, 0) (0, 0)) message) |]

    /// Runs `f`, turning the product's user errors (compile-time diagnostics and every runtime error) into
    /// NnException, through the same function as the `nn` command (RuntimeErrors.tryDiagnostics).
    let guard (p: Program) (f: unit -> 'a) : 'a =
        try f ()
        with e ->
            match RuntimeErrors.tryDiagnostics p.FileName e with
            | Some ds -> raise (NnException(ds |> List.map (diagnostic p) |> Array.ofList))
            | None -> reraise ()

    /// The one place an executor is made: the fused engine, with the kernels' worker pool's threads.
    let executor (graphs: StepGraphs) (initial: IReadOnlyDictionary<string, HostTensor>) : IStepExecutor =
        Nn.Runtime.Executors.StepExecutor.Create(
            graphs, initial,
            ExecutorOptions(Engine = "fused", Threads = Nn.Runtime.Kernels.WorkerPool.Shared.MaxThreads))

    let shapeText (dims: int[]) = HostTensor.FormatShape(ReadOnlySpan dims)

    /// Checks features against the network's input: rank and every fixed axis.
    let checkFeatures (p: Program) (netName: string) (input: Node) (x: HostTensor) =
        let dims = input.Shape.ToArray()
        let fits =
            x.Rank = dims.Length && Seq.forall2 (fun (d: Dim) s -> not d.IsFixed || d.Size = s) dims[1..] x.Shape[1..]
        if not fits then
            raise (
                error p "NN0550"
                    (sprintf "the features have the shape %s (rows of %s), but the network `%s` takes %O (rows of %O)"
                        (shapeText x.Shape) (shapeText x.Shape[1..]) netName input.Shape (Shape(dims[1..])))
            )

    /// Checks one features array per input of the network: their number (NN0571), each against its input (NN0550
    /// for one input, NN0572 naming the input of several) and their rows (NN0570).
    let checkInputs (p: Program) (netName: string) (inputs: IReadOnlyList<Node>) (xs: HostTensor[]) =
        if xs.Length <> inputs.Count then
            raise (
                error p Nn.Runtime.Data.DataErrorCodes.InputCount
                    (sprintf "%d features array%s given, but the network `%s` takes %d input%s (%s): one array per \
                              input, in order"
                        xs.Length (if xs.Length = 1 then " was" else "s were") netName inputs.Count
                        (if inputs.Count = 1 then "" else "s")
                        (inputs |> Seq.map (fun i -> "`" + i.Name + "`") |> String.concat ", "))
            )
        if xs.Length = 1 then checkFeatures p netName inputs[0] xs[0]
        else
            for input, x in Seq.zip inputs xs do
                let dims = input.Shape.ToArray()
                if not (x.Rank = dims.Length
                        && Seq.forall2 (fun (d: Dim) s -> not d.IsFixed || d.Size = s) dims[1..] x.Shape[1..]) then
                    raise (
                        error p Nn.Runtime.Data.DataErrorCodes.InputShape
                            (sprintf "the features of the input `%s` have the shape %s (rows of %s), but the network \
                                      `%s` takes %O (rows of %O)"
                                input.Name (shapeText x.Shape) (shapeText x.Shape[1..]) netName input.Shape
                                (Shape(dims[1..])))
                    )
            if xs |> Array.exists (fun x -> x.Rows <> xs[0].Rows) then
                raise (
                    error p Nn.Runtime.Data.DataErrorCodes.InputRowMismatch
                        (sprintf "the features arrays have %s rows; every input needs the same number of rows"
                            (xs |> Array.map (fun x -> string x.Rows) |> String.concat ", "))
                )

/// <summary>A network with weights, ready to predict: made by <see cref="M:Nn.NnModel.CreateSession(System.String)"/>
/// (initial weights) or <see cref="M:Nn.NnModel.LoadSession(System.String,System.String)"/>, and the base of
/// <see cref="T:Nn.NnTrainer"/>. Not thread-safe: use one session per thread.</summary>
[<AllowNullLiteral>]
type NnSession internal (program: Embed.Program, net: Compile.NetworkInfo, graphs: StepGraphs,
                         initial: Dictionary<string, HostTensor>) =
    let mutable graphs = graphs
    let mutable exec = Embed.guard program (fun () -> Embed.executor graphs initial)
    /// what the weights last loaded remember of their training table and classes (for ONNX metadata)
    let mutable exportInfo = Export.noInfo
    let input () = graphs.DataInputs[0]
    /// the names saved and loaded: Params and the States prediction uses (not optimizer moments)
    let weightNames () =
        Seq.append graphs.Predict.Params graphs.Predict.States |> Seq.map (fun n -> n.Name) |> Array.ofSeq

    member internal _.Program = program
    member internal _.Net = net
    member internal _.Graphs = graphs
    member internal _.Executor = exec
    /// Replace the graphs and executor (a trainer does when the data's target shape changes).
    member internal _.Replace(g: StepGraphs, e: IStepExecutor) =
        graphs <- g
        exec <- e

    /// <summary>The network's name.</summary>
    member _.NetworkName = net.Decl.Name
    /// <summary>The shape of the network's input, such as <c>[n, 2]</c>.</summary>
    member _.InputShape = NnShape.OfShape(input().Shape)
    /// <summary>The shape of the network's output, such as <c>[n, 1]</c>.</summary>
    member _.OutputShape = NnShape.OfShape(graphs.Predict.Output("output").Shape)

    /// <summary>The network's output for the rows of <paramref name="features"/> (evaluation mode: no dropout,
    /// batch norm on running statistics).</summary>
    /// <exception cref="T:Nn.NnException">NN0550 when the rows do not fit the network's input</exception>
    member _.Predict(features: NnTensor) : NnTensor =
        if isNull (box features) then nullArg "features"
        Embed.checkInputs program net.Decl.Name graphs.DataInputs [| features.Host |]
        Embed.guard program (fun () -> NnTensor(exec.Predict features.Host))
    /// <summary>The network's output for a [rows, columns] array.</summary>
    /// <exception cref="T:Nn.NnException">NN0550 when the rows do not fit the network's input</exception>
    member this.Predict(features: float32[,]) : float32[,] = this.Predict(NnTensor.FromArray features).ToArray2D()
    /// <summary>The network's output for a [rows, columns] array of doubles.</summary>
    /// <exception cref="T:Nn.NnException">NN0550 when the rows do not fit the network's input</exception>
    member this.Predict(features: float[,]) : float[,] = this.Predict(NnTensor.FromArray features).ToDoubleArray2D()
    /// <summary>The output of a network with several inputs: one array of rows per input, in the order the network
    /// declares them (<c>network wide (a: [n, 4]) (b: [n, 8])</c> takes <c>[| a; b |]</c>).</summary>
    /// <exception cref="T:Nn.NnException">NN0571 when the number of arrays differs from the network's inputs,
    /// NN0572 (NN0550 for one input) when an array's rows do not fit its input, NN0570 when the arrays' rows
    /// differ</exception>
    member _.Predict(features: NnTensor[]) : NnTensor =
        if isNull features || Array.exists (box >> isNull) features then nullArg "features"
        let xs = features |> Array.map (fun f -> f.Host)
        Embed.checkInputs program net.Decl.Name graphs.DataInputs xs
        Embed.guard program (fun () -> NnTensor(exec.Predict xs))
    /// <summary>The output of a network with several inputs for one [rows, columns] array per input.</summary>
    member this.Predict(features: float32[,][]) : float32[,] =
        if isNull features then nullArg "features"
        this.Predict(features |> Array.map NnTensor.FromArray).ToArray2D()
    /// <summary>The output of a network with several inputs for one [rows, columns] array of doubles per
    /// input.</summary>
    member this.Predict(features: float[,][]) : float[,] =
        if isNull features then nullArg "features"
        this.Predict(features |> Array.map NnTensor.FromArray).ToDoubleArray2D()
    /// <summary>The predicted class of each row: the position of the largest output, or, for a network with one
    /// output per row (a sigmoid), 1 when it is at least 0.5 and 0 otherwise.</summary>
    /// <exception cref="T:Nn.NnException">NN0550 when the rows do not fit the network's input</exception>
    member this.PredictClasses(features: NnTensor) : int[] =
        let out = this.Predict features
        if out.RowSize = 1 then out.ToArray() |> Array.map (fun v -> if v >= 0.5f then 1 else 0) else out.ArgMax()
    /// <summary>The predicted class of each row of a [rows, columns] array (see
    /// <see cref="M:Nn.NnSession.PredictClasses(Nn.NnTensor)"/>).</summary>
    member this.PredictClasses(features: float32[,]) : int[] = this.PredictClasses(NnTensor.FromArray features)
    /// <summary>The predicted class of each row of a [rows, columns] array of doubles.</summary>
    member this.PredictClasses(features: float[,]) : int[] = this.PredictClasses(NnTensor.FromArray features)

    /// <summary>The current value of a parameter or state, by path (such as <c>dense1.w</c>).</summary>
    /// <exception cref="T:System.Collections.Generic.KeyNotFoundException">when the network has no such
    /// path</exception>
    member _.GetParameter(path: string) : NnTensor =
        match exec.Snapshot().TryGetValue path with
        | true, v when Array.contains path (weightNames ()) -> NnTensor v
        | _ ->
            raise (
                KeyNotFoundException(
                    sprintf "the network `%s` has no parameter `%s` (it has %s)"
                        net.Decl.Name path (String.Join(", ", weightNames ()))
                )
            )

    /// <summary>Writes the weights (every parameter and state prediction needs) to a safetensors file whose tensor
    /// names are the parameter paths. The file is replaced atomically.</summary>
    /// <exception cref="T:Nn.NnException">NN0706 when the file cannot be written</exception>
    member _.Save(path: string) =
        if isNull path then nullArg "path"
        let values = exec.Snapshot()
        let tensors = weightNames () |> Seq.map (fun n -> KeyValuePair(n, RawTensor.FromHost values[n]))
        let meta = dict [ "format", "nn"; "network", net.Decl.Name ]
        Embed.guard program (fun () -> SafeTensors.Write(path, tensors, Dictionary meta))

    /// <summary>Replaces the weights with those of a safetensors file (as
    /// <see cref="M:Nn.NnSession.Save(System.String)"/> writes it, or any file with the same tensor names and shapes;
    /// other tensors in it are ignored). A run folder of <c>nn train</c> stands for the weights its training ended
    /// with: <c>best.safetensors</c> when early stopping restored an earlier epoch, else its checkpoint (the last
    /// epoch's).</summary>
    /// <exception cref="T:Nn.NnException">NN0701 missing file, NN0702–NN0705 a malformed file, NN0707 a missing
    /// tensor, NN0708 a tensor of the wrong shape</exception>
    member _.Load(path: string) =
        if isNull path then nullArg "path"
        Embed.guard program (fun () ->
            exec.Load(Nn.Compiler.Checkpoint.readWeights path (Seq.append graphs.Predict.Params graphs.Predict.States))
            exportInfo <- Export.infoOf path)

    /// <summary>Writes the network with the current weights as an ONNX model (opset 17), as <c>nn export</c> does
    /// (PyTorch's <c>torch.onnx.export</c>, Keras' <c>model.export(path, format="onnx")</c>): the inference graph
    /// (no dropout, batch norm on running statistics), weights as initializers named by their paths, the inputs
    /// named as the network declares them with the batch axis <c>n</c>, the output <c>output</c>. Weights loaded
    /// from an <c>nn train</c> run bring their table encoding and class names as metadata (docs/language.md, "ONNX
    /// export"). The file is replaced atomically.</summary>
    /// <exception cref="T:Nn.NnException">NN0706 when the file cannot be written</exception>
    member this.ExportOnnx(path: string) = this.ExportOnnx(path, Export.defaultOpset)
    /// <summary>Writes the network as an ONNX model of the given opset (17 to 21).</summary>
    /// <exception cref="T:Nn.NnException">NN0721 an opset outside 17 to 21, NN0706 when the file cannot be
    /// written</exception>
    member _.ExportOnnx(path: string, opset: int) =
        if isNull path then nullArg "path"
        Embed.guard program (fun () ->
            let model = Export.onnxOf net graphs (exec.Snapshot()) exportInfo opset
            Nn.Runtime.Export.OnnxExport.Write(path, model))
