/// The recurrent layers of the prelude (src/Compiler/Prelude/prelude.nn: rnn, lstm, gru, lastStep, bidirectional,
/// embedding): forward values against the cells written here in F#, gradients of every weight and of the input
/// against float64 finite differences (t = 3), one set of parameter paths per layer call, the forget bias at 1, and
/// the engine against the reference interpreter on examples/adding.nn's networks.
module Nn.Tests.Compiler.PreludeRecurrentTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Autodiff
open Nn.Runtime.Engine
open Nn.Runtime.Execution
open Nn.Compiler
open Nn.Tests.TestUtil

type private Interp = ReferenceInterpreter<double>

let private paramsOf (b: GraphBuilder) = b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> List.ofSeq
let private dimsOf (n: Node) = n.Shape.Resolve(Dictionary<string, int>())
let private size (n: Node) = int n.Shape.FixedCount

/// A network `r (x: [n, 3, 2])` with the given body; random weights (seeded), its output, and every gradient of
/// loss = Σ y·r (r random) against central float64 differences.
let private gradientCheck (body: string) (outWidth: int) (expected: (string -> float[]) -> float[] -> float[]) =
    let b, fwd = forwardOf (sprintf "network r (x: [n, 3, 2]) =\n    %s\n" body)
    let ps = paramsOf b
    let input = fwd.Inputs |> List.exactlyOne |> snd
    let r = b.Input("r", fwd.Output.Shape, SourceSpan.None)
    let loss = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, fwd.Output, r, SourceSpan.None), [||], false, SourceSpan.None)
    let wrt = Array.ofList (ps @ [ input ])
    let grads = Backward.Gradients(b, loss, wrt)
    let outs = [ KeyValuePair("y", fwd.Output); KeyValuePair("loss", loss) ]
               @ (grads |> Array.mapi (fun i g -> KeyValuePair(sprintf "d%d" i, g)) |> List.ofArray)
    let g = b.Build outs
    let rng = Random 20
    let values n = Array.init n (fun _ -> rng.NextDouble() * 1.6 - 0.8)
    let init = Dictionary<string, float[]>()
    for p in ps do init[p.Name] <- values (size p)
    init["x"] <- values 12
    init["r"] <- values (2 * 3 * outWidth)
    let shapes = Dictionary<string, int[]>()
    for p in ps do shapes[p.Name] <- dimsOf p
    shapes["x"] <- [| 2; 3; 2 |]
    shapes["r"] <- [| 2; 3; outWidth |]
    let feeds (vals: Dictionary<string, float[]>) =
        let d = Dictionary<string, Tensor<double>>()
        for KeyValue(k, v) in vals do d[k] <- Tensor<double>(shapes[k], v)
        d
    let out = Interp.Run(g, feeds init)
    let y = expected (fun name -> init[name]) init["x"]
    Array.iteri2 (fun i a e -> Expect.floatClose Accuracy.veryHigh a e $"y[{i}]") out["y"].Data y
    let lossWith name i h =
        let vals = Dictionary<string, float[]>(init)
        vals[name] <- Array.mapi (fun j a -> if j = i then a + h else a) init[name]
        Interp.Run(g, feeds vals).["loss"].Data[0]
    wrt |> Array.iteri (fun k node ->
        let name = if k < ps.Length then node.Name else "x"
        for i in 0 .. init[name].Length - 1 do
            let fd = (lossWith name i 1e-6 - lossWith name i -1e-6) / 2e-6
            Expect.floatClose { absolute = 1e-8; relative = 1e-6 } out[sprintf "d%d" k].Data[i] fd $"d{name}[{i}]")
    ps |> List.map (fun p -> p.Name)

let private sigmoid (v: float) = 1.0 / (1.0 + exp -v)

/// x·W (x of width k, W [k, m] row-major), one row.
let private matvec (xs: float[]) (w: float[]) m =
    Array.init m (fun j -> Seq.sum (seq { for i in 0 .. xs.Length - 1 -> xs[i] * w[i * m + j] }))

/// Runs a cell over x [2, 3, 2] from h = 0 (and the cell's own state at zero), every step's h, flattened.
let private unroll units (cell: float[] -> float[] * float[] -> float[] * float[]) (x: float[]) =
    [| for b in 0 .. 1 do
           let mutable s = Array.zeroCreate units, Array.zeroCreate units
           for t in 0 .. 2 do
               s <- cell x[b * 6 + t * 2 .. b * 6 + t * 2 + 1] s
               yield! fst s |]

[<Tests>]
let tests =
    testList "Compiler.PreludeRecurrent" [
        test "rnn: h = tanh (x wx + h wh + b), every step, gradients = float64 differences" {
            let names =
                gradientCheck "x |> rnn 4" 4 (fun p x ->
                    unroll 4 (fun xt (h, _) ->
                        let a = Array.map2 (+) (matvec xt (p "rnn1.wx") 4) (matvec h (p "rnn1.wh") 4)
                        Array.map2 (fun a b -> tanh (a + b)) a (p "rnn1.b"), [||]) x)
            Expect.equal names [ "rnn1.wx"; "rnn1.wh"; "rnn1.b" ] "one wx, wh and b for the 3 steps"
        }
        test "lstm: Keras' cell (gates i, f, g, o), gradients = float64 differences" {
            let u = 3
            let names =
                gradientCheck "x |> lstm 3" u (fun p x ->
                    let b = Array.concat [ p "lstm1.bi"; p "lstm1.bf"; p "lstm1.bg"; p "lstm1.bo" ]
                    unroll u (fun xt (h, c) ->
                        let z = Array.map3 (fun a b c -> a + b + c) (matvec xt (p "lstm1.wx") (4 * u))
                                           (matvec h (p "lstm1.wh") (4 * u)) b
                        let gate k = z[k * u .. k * u + u - 1]
                        let c' = Array.init u (fun j ->
                            sigmoid (gate 1).[j] * c[j] + sigmoid (gate 0).[j] * tanh (gate 2).[j])
                        Array.init u (fun j -> sigmoid (gate 3).[j] * tanh c'[j]), c') x)
            Expect.equal names [ "lstm1.wx"; "lstm1.wh"; "lstm1.bi"; "lstm1.bf"; "lstm1.bg"; "lstm1.bo" ] "paths"
        }
        test "gru: reset after the recurrent product (Keras 2, PyTorch), gradients = float64 differences" {
            let u = 2
            let names =
                gradientCheck "x |> gru 2" u (fun p x ->
                    unroll u (fun xt (h, _) ->
                        let xz = Array.map2 (+) (matvec xt (p "gru1.wx") (3 * u)) (p "gru1.b")
                        let hz = Array.map2 (+) (matvec h (p "gru1.wh") (3 * u)) (p "gru1.bh")
                        let h' = Array.init u (fun j ->
                            let z = sigmoid (xz[j] + hz[j])
                            let r = sigmoid (xz[u + j] + hz[u + j])
                            z * h[j] + (1.0 - z) * tanh (xz[2 * u + j] + r * hz[2 * u + j]))
                        h', [||]) x)
            Expect.equal names [ "gru1.wx"; "gru1.wh"; "gru1.b"; "gru1.bh" ] "paths"
        }
        test "bidirectional: the backward layer has its own weights and its output is in time order" {
            let names =
                gradientCheck "x |> bidirectional (rnn 2)" 4 (fun p x ->
                    let run prefix (x: float[]) =
                        unroll 2 (fun xt (h, _) ->
                            let a = Array.map2 (+) (matvec xt (p (prefix + ".wx")) 2) (matvec h (p (prefix + ".wh")) 2)
                            Array.map2 (fun a b -> tanh (a + b)) a (p (prefix + ".b")), [||]) x
                    let rev (v: float[]) w =
                        [| for b in 0 .. 1 do for t in 2 .. -1 .. 0 do yield! v[b*3*w + t*w .. b*3*w + t*w + w - 1] |]
                    let fwd, bwd = run "bidirectional1.rnn1" x, rev (run "bidirectional1.rnn2" (rev x 2)) 2
                    [| for i in 0 .. 5 do yield! fwd[2 * i .. 2 * i + 1]; yield! bwd[2 * i .. 2 * i + 1] |])
            Expect.equal names.Length 6 "two sets of rnn weights"
        }
        test "lastStep is the last step; embedding picks rows of its table" {
            let _, fwd = forwardOf "network r (x: [n, 7, 5]) : [n, 5] = lastStep x\n"
            Expect.equal (string fwd.Output.Shape) "[n, 5]" "lastStep"
            let b, fwd = forwardOf "network e (ids: [n, 4]) = ids |> embedding 10 3\n"
            Expect.equal (string fwd.Output.Shape) "[n, 4, 3]" "embedding"
            let table = paramsOf b |> List.exactlyOne
            Expect.equal (table.Name, string table.Attrs.Init) ("embedding1.table", "uniform -0.05 0.05") "Keras' init"
        }
        test "one set of paths per layer call whatever the length; forget bias 1, other biases 0" {
            let c = compiledText (File.ReadAllText(Path.Combine(repoRoot, "examples", "adding.nn")))
            let paths name =
                let b = GraphBuilder()
                let net = c.Networks |> List.find (fun n -> n.Decl.Name = name)
                let fwd = Compile.forward net b false
                paramsOf b, fwd.Context.Calls |> Seq.map fst |> Seq.distinct |> List.ofSeq
            let ps, calls = paths "lstm"
            Expect.equal calls [ "lstm1"; "lastStep1"; "dense1" ] "summary: one row per layer, not per step"
            Expect.equal (ps |> List.map (fun p -> p.Name, string p.Attrs.Init))
                [ "lstm1.wx", "glorot"; "lstm1.wh", "orthogonal"; "lstm1.bi", "zeros"; "lstm1.bf", "ones"
                  "lstm1.bg", "zeros"; "lstm1.bo", "zeros"; "dense1.w", "glorot"; "dense1.b", "zeros" ] "paths, inits"
            Expect.equal (ps |> List.sumBy size) (4 * 32 * (2 + 32 + 1) + 33) "Keras' count: 4·u·(f + u + 1)"
            let ps, calls = paths "rnn"
            Expect.equal calls [ "rnn1"; "lastStep1"; "dense1" ] "rnn rows"
            Expect.equal (ps |> List.sumBy size) (32 * (2 + 32 + 1) + 33) "Keras' SimpleRNN count"
        }
        test "the engine agrees with the reference interpreter on adding.nn's networks (4 rows of the data)" {
            let c = compiledText (File.ReadAllText(Path.Combine(repoRoot, "examples", "adding.nn")))
            let xs = Npy.ReadHost(Path.Combine(repoRoot, "examples", "data", "adding50-x.npy"))
            for name in [ "lstm"; "rnn" ] do
                let b = GraphBuilder()
                let net = c.Networks |> List.find (fun n -> n.Decl.Name = name)
                let fwd = Compile.forward net b false
                let g = b.Build [ KeyValuePair("y", fwd.Output) ]
                let rng = Random 5
                let f64 = Dictionary<string, Tensor<double>>()
                let f32 = Dictionary<string, HostTensor>()
                let rows = Array.init (4 * 100) (fun i -> float xs.Data[i])
                f64["x"] <- Tensor<double>([| 4; 50; 2 |], rows)
                f32["x"] <- HostTensor([| 4; 50; 2 |], Array.map float32 rows)
                for p in paramsOf b do
                    let dims = dimsOf p
                    let v = Array.init (size p) (fun _ -> float (float32 (rng.NextDouble() - 0.5)))
                    f64[p.Name] <- Tensor<double>(dims, v)
                    f32[p.Name] <- HostTensor(dims, Array.map float32 v)
                let reference = Interp.Run(g, f64).["y"].Data
                let fused = GraphRunner.Run(g, f32).["y"].Data
                Array.iteri2 (fun i a e -> Expect.floatClose { absolute = 1e-5; relative = 1e-4 } (float a) e
                                               $"{name} y[{i}]") fused reference
        }
    ]
