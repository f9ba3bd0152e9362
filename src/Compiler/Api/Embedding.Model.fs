// The embedding API's entry point: compile a program (text or file) into an NnModel, inspect its networks,
// and make trainers and inference sessions from it.
namespace Nn

open System
open System.Collections.Generic
open System.Globalization
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Training
open Nn.Compiler

/// <summary>A network of a compiled program: its input and output shapes and its parameters.</summary>
[<Sealed>]
type NnNetwork internal (name: string, inputs: (string * NnShape)[], output: NnShape, parameters: NnParameter[]) =
    /// <summary>The network's name, as declared by <c>network NAME (...)</c>.</summary>
    member _.Name = name
    /// <summary>The names of its inputs, in order (the trainer and sessions feed networks with one input).</summary>
    member _.InputNames: IReadOnlyList<string> = Array.AsReadOnly(Array.map fst inputs)
    /// <summary>The shapes of its inputs, in order.</summary>
    member _.InputShapes: IReadOnlyList<NnShape> = Array.AsReadOnly(Array.map snd inputs)
    /// <summary>The shape of its first input, such as <c>[n, 2]</c>.</summary>
    member _.InputShape = snd inputs[0]
    /// <summary>The shape of its output, such as <c>[n, 1]</c>.</summary>
    member _.OutputShape = output
    /// <summary>Every parameter in order of creation, then every state (see
    /// <see cref="P:Nn.NnParameter.IsState"/>).</summary>
    member _.Parameters: IReadOnlyList<NnParameter> = Array.AsReadOnly parameters
    /// <summary>The number of trainable values (states not counted).</summary>
    member _.ParameterCount = parameters |> Array.filter (fun p -> not p.IsState) |> Array.sumBy (fun p -> p.Count)
    /// <summary><c>name [inputs] -> [output]</c>.</summary>
    override _.ToString() = sprintf "%s %O -> %O" name (snd inputs[0]) output

/// <summary>A compiled <c>.nn</c> program. Make one with
/// <see cref="M:Nn.NnModel.Compile(System.String,System.String)"/>; its networks are checked (names, shapes,
/// <c>train</c> settings) before any data is seen.</summary>
[<Sealed; AllowNullLiteral>]
type NnModel internal (program: Embed.Program, compiled: Compile.Compiled) =
    let describe (net: Compile.NetworkInfo) =
        Embed.guard program (fun () ->
            let fwd = Compile.forward net (GraphBuilder()) false
            let nodes = fwd.Context.Builder.Nodes
            let ps kind isState =
                nodes |> Seq.filter (fun n -> n.Op = kind)
                |> Seq.map (fun n ->
                    let init = match n.Attrs.Init with null -> "zeros" | i -> string i
                    NnParameter(n.Name, n.Shape.Resolve(Dictionary()), init, isState))
            let inputs = fwd.Inputs |> List.map (fun (name, n) -> name, NnShape.OfShape n.Shape) |> Array.ofList
            NnNetwork(
                net.Decl.Name,
                inputs,
                NnShape.OfShape fwd.Output.Shape,
                Array.append (Array.ofSeq (ps OpKind.Param false)) (Array.ofSeq (ps OpKind.State true))
            ))
    let networks = lazy (compiled.Networks |> List.map describe |> Array.ofList)
    let info (name: string) =
        match compiled.Networks |> List.tryFind (fun n -> n.Decl.Name = name) with
        | Some n -> n
        | None ->
            let names = compiled.Networks |> List.map (fun n -> n.Decl.Name) |> String.concat ", "
            raise (KeyNotFoundException(sprintf "the program has no network `%s` (it has %s)" name names))
    /// the network of the first train block, else the last one declared
    let defaultName () =
        match compiled.Trains, compiled.Networks with
        | (td, _) :: _, _ -> td.Network
        | [], [] -> raise (InvalidOperationException(sprintf "%s declares no network" program.FileName))
        | [], nets -> (List.last nets).Decl.Name

    static let parseSetting (name: string) (text: string) =
        match Parser.parseExpr (sprintf "<%s>" name) text with
        | Ok e -> e
        | Error ds ->
            let p = Embed.program None Map.empty (Map [ sprintf "<%s>" name, text ]) name
            raise (NnException(ds |> List.map (Embed.diagnostic p) |> Array.ofList))

    static let compileWith (fileName: string) (run: unit -> Result<Compile.Compiled, Diagnostic list>)
                           (text: string option) =
        let full = IO.Path.GetFullPath fileName
        let names = Map [ full, fileName ]
        match run () with
        | Ok c ->
            let p = Embed.program (Some c) names c.Sources fileName
            CompileResult(NnModel(p, c), [||], c.Warnings |> List.map (Embed.diagnostic p) |> Array.ofList)
        | Error ds ->
            let sources = match text with Some t -> Map [ full, t ] | None -> Map.empty
            let p = Embed.program None names sources fileName
            CompileResult(null, ds |> List.map (Embed.diagnostic p) |> Array.ofList, [||])

    /// <summary>Compiles program text. <paramref name="fileName"/> names it in diagnostics, and <c>open "x.nn"</c>
    /// reads files relative to it (relative to the current directory when it has no folder).</summary>
    /// <returns>The model, or the diagnostics (never an exception for a bad program).</returns>
    static member Compile(source: string, fileName: string) : CompileResult =
        if isNull source then nullArg "source"
        let fileName = if String.IsNullOrWhiteSpace fileName then "model.nn" else fileName
        compileWith fileName (fun () -> Compile.compileText fileName source) (Some source)
    /// <summary>Compiles program text named <c>model.nn</c> in diagnostics.</summary>
    static member Compile(source: string) : CompileResult = NnModel.Compile(source, "model.nn")
    /// <summary>Compiles a <c>.nn</c> file from disk (a missing or unreadable file is a diagnostic,
    /// NN0001–NN0003).</summary>
    static member CompileFile(path: string) : CompileResult =
        if isNull path then nullArg "path"
        compileWith path (fun () -> Compile.compileFile path) None

    /// <summary>The program's file name, as given when compiling.</summary>
    member _.FileName = program.FileName
    /// <summary>Every network of the program, in declaration order.</summary>
    member _.Networks: IReadOnlyList<NnNetwork> = Array.AsReadOnly networks.Value
    /// <summary>The names of the networks that have a <c>train</c> block, in the blocks' order.</summary>
    member _.TrainableNetworks: IReadOnlyList<string> =
        Array.AsReadOnly(compiled.Trains |> List.map (fun (td, _) -> td.Network) |> Array.ofList)
    /// <summary>The main network: the one the first <c>train</c> block trains, else the last one declared.</summary>
    /// <exception cref="T:System.InvalidOperationException">when the program declares no network</exception>
    member this.Network = this.GetNetwork(defaultName ())
    /// <summary>A network by name.</summary>
    /// <exception cref="T:System.Collections.Generic.KeyNotFoundException">when there is no such network</exception>
    member _.GetNetwork(name: string) : NnNetwork =
        info name |> ignore
        networks.Value |> Array.find (fun n -> n.Name = name)
    /// <summary>The main network's parameters and states (see <see cref="P:Nn.NnModel.Network"/>).</summary>
    member this.Parameters = this.Network.Parameters
    /// <summary>The main network's input shape.</summary>
    member this.InputShape = this.Network.InputShape
    /// <summary>The main network's output shape.</summary>
    member this.OutputShape = this.Network.OutputShape

    /// <summary>A trainer for the first <c>train</c> block's network, with the block's settings.</summary>
    /// <exception cref="T:System.InvalidOperationException">when the program has no <c>train</c> block</exception>
    member this.CreateTrainer() = this.CreateTrainer(null)
    /// <summary>A trainer with the settings of a <c>train</c> block, overridden by <paramref name="options"/> (may be
    /// null). The block's <c>data</c> field is not read (it may be left out): data comes from
    /// <see cref="M:Nn.NnTrainer.Fit(Nn.NnTensor,Nn.NnTensor)"/>.</summary>
    /// <exception cref="T:System.InvalidOperationException">when the program has no <c>train</c> block (for the
    /// network)</exception>
    /// <exception cref="T:Nn.NnException">for a bad setting (an unknown field, a bad value, a loss that does not fit
    /// the network such as <c>crossEntropy</c> on scores, NN0421)</exception>
    member _.CreateTrainer(options: TrainerOptions) : NnTrainer =
        let o = if isNull options then TrainerOptions() else options
        let td, env =
            match compiled.Trains |> List.tryFind (fun (td, _) -> isNull o.Network || td.Network = o.Network) with
            | Some b -> b
            | None ->
                let which = if isNull o.Network then "" else sprintf " for the network `%s`" o.Network
                raise (
                    InvalidOperationException(
                        sprintf "%s has no `train` block%s; " program.FileName which
                        + "add one, such as `train NAME { loss = mse; optimizer = adam { lr = 0.01 } }`"
                    )
                )
        let num (v: Nullable<'t>) (f: 't -> string) = if v.HasValue then Some(f v.Value) else None
        let fields =
            [ "epochs", num o.Epochs string
              "batch", num o.BatchSize string
              "seed", num o.Seed string
              "validation", num o.Validation (fun v -> v.ToString("R", CultureInfo.InvariantCulture)) ]
            |> List.choose (fun (n, v) -> v |> Option.map (fun v -> n, v))
        let settings = o.Settings |> Seq.map (fun kv -> kv.Key, kv.Value) |> List.ofSeq
        match settings |> List.tryFind (fun (n, _) -> not (List.contains n TrainConfig.fieldNames)) with
        | Some(n, _) ->
            raise (
                Embed.error program "NN0401"
                    (sprintf "`train` has no field `%s` (fields: %s)" n (String.concat ", " TrainConfig.fieldNames))
            )
        | None -> ()
        let hasData =
            td.Fields |> List.exists (fun f -> f.Name = "data") || settings |> List.exists (fun (n, _) -> n = "data")
        // the data comes from Fit; a block written for embedding may leave `data` out
        let placeholder = if hasData then [] else [ "data", "rows [ [0], [0] ]" ]
        let overrides = placeholder @ settings @ fields |> List.map (fun (n, t) -> n, parseSetting n t)
        let block = TrainPlan.withOverrides td overrides, env
        let net = info td.Network
        Embed.guard program (fun () ->
            let cfg = TrainPlan.config compiled block
            // what the settings (with the options' overrides) say about the network, before any Fit
            Compile.checkTrain net cfg |> ignore
            NnTrainer(program, net, block, cfg, TrainPlan.graphs cfg net None, o.Communicator))

    /// <summary>An inference session for the main network with freshly initialized weights (load trained ones with
    /// <see cref="M:Nn.NnSession.Load(System.String)"/>).</summary>
    member this.CreateSession() = this.CreateSession(null)
    /// <summary>An inference session for a network (null: the main network) with freshly initialized weights.</summary>
    /// <exception cref="T:System.Collections.Generic.KeyNotFoundException">when there is no such network</exception>
    member _.CreateSession(network: string) : NnSession =
        let net = info (if isNull network then defaultName () else network)
        Embed.guard program (fun () ->
            // the graphs of a plain mse step: only their prediction graph is used
            let graphs = Nn.Compiler.Checkpoint.graphsFor compiled None net
            NnSession(program, net, graphs, Initializers.ForGraph(graphs.Train, 0UL)))
    /// <summary>An inference session for the main network with the weights of a safetensors file.</summary>
    /// <exception cref="T:Nn.NnException">when the file is missing, malformed or does not fit the network</exception>
    member this.LoadSession(weightsPath: string) = this.LoadSession(weightsPath, null)
    /// <summary>An inference session for a network (null: the main network) with the weights of a safetensors
    /// file.</summary>
    /// <exception cref="T:Nn.NnException">when the file is missing, malformed or does not fit the network</exception>
    member this.LoadSession(weightsPath: string, network: string) : NnSession =
        let s = this.CreateSession(network)
        s.Load weightsPath
        s

/// <summary>The outcome of compiling: a model, or diagnostics saying what is wrong.</summary>
and [<Sealed>] CompileResult internal (model: NnModel, diagnostics: NnDiagnostic[], warnings: NnDiagnostic[]) =
    /// <summary>True when the program compiled; <see cref="P:Nn.CompileResult.Model"/> is then set.</summary>
    member _.Success = not (isNull (box model))
    /// <summary>The compiled model, or null when there are errors.</summary>
    member _.Model = model
    /// <summary>The errors found (empty on success).</summary>
    member _.Diagnostics: IReadOnlyList<NnDiagnostic> = Array.AsReadOnly diagnostics
    /// <summary>The warnings of a program that compiled (severity <c>warning</c>): legal, but probably a mistake,
    /// such as a parameter nothing uses or a softmax before <c>softmaxCrossEntropy</c> (empty on failure).</summary>
    member _.Warnings: IReadOnlyList<NnDiagnostic> = Array.AsReadOnly warnings
    /// <summary>Every diagnostic's text, separated by blank lines (empty on success).</summary>
    member _.ErrorText =
        diagnostics |> Array.map (fun d -> d.Text) |> String.concat (Environment.NewLine + Environment.NewLine)
    /// <summary>The model, or an <see cref="T:Nn.NnException"/> carrying the diagnostics.</summary>
    /// <exception cref="T:Nn.NnException">when compiling failed</exception>
    member _.EnsureSuccess() : NnModel = if isNull (box model) then raise (NnException diagnostics) else model
