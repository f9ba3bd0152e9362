/// Random well-shaped graphs over every differentiable op, and a float64 finite-difference oracle
/// (JAX's check_grads). The file's name sorts first so the other runtime test files can use it.
module Nn.Tests.Runtime.Autodiff.GraphGen

open System
open System.Collections.Generic
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Execution
open Expecto

let span = SourceSpan("gen.nn", 1, 1, 1, 2)
type T64 = Tensor<double>
type Interp = ReferenceInterpreter<double>

/// What the generator may use.
type GenOptions =
    { /// most ops per graph
      MaxOps: int
      /// allow pooling with overlapping windows (stride < size), which has no second derivative rule
      Overlap: bool
      /// allow dropout masks (their stream ids depend on what the builder already holds)
      Dropout: bool }

let defaults = { MaxOps = 8; Overlap = true; Dropout = true }

/// The shared sources every generated graph starts from: an input with a batch dimension variable,
/// a vector, a matrix, a rank-3 tensor and an NHWC image.
let baseSources (b: GraphBuilder) =
    let n = Dim.Sym "n"
    [ b.Input("x", Shape(n, Dim.Of 3), span)
      b.Param("a", Shape.Of 3, InitSpec.Zeros, span)
      b.Param("w", Shape.Of(3, 4), InitSpec.Zeros, span)
      b.Param("m", Shape.Of(2, 3, 4), InitSpec.Zeros, span)
      b.Param("img", Shape.Of(2, 5, 5, 2), InitSpec.Zeros, span) ]

let private fixedDims (s: Shape) = s.Dims.ToArray() |> Array.forall (fun d -> d.IsFixed)

/// Builds random ops on top of `pool` and returns a scalar loss mixing every unused result with fed random weights.
let generateWithLast
    (b: GraphBuilder)
    (rng: Random)
    (prefix: string)
    (opts: GenOptions)
    (pool0: Node list)
    : Node * Node =

    let pool = ResizeArray<Node>(pool0)
    let used = HashSet<int>()
    let mutable fresh = 0
    let param (shape: Shape) =
        fresh <- fresh + 1
        b.Param(sprintf "%s.p%d" prefix fresh, shape, InitSpec.Zeros, span)
    let pick () =
        let k = if rng.Next 2 = 0 then rng.Next(max 0 (pool.Count - 3), pool.Count) else rng.Next pool.Count
        pool.[k]
    let c (v: float) = b.Const(v, span)
    let un op x = b.Unary(op, x, span)
    let bin op x y = b.Binary(op, x, y, span)
    let pos x = bin OpKind.Add (un OpKind.Square x) (c 0.5)
    let axisOf (x: Node) = rng.Next x.Shape.Rank
    let fixedAxes (x: Node) = [| for i in 0 .. x.Shape.Rank - 1 do if x.Shape.[i].IsFixed then yield i |]
    let unaries =
        [| OpKind.Neg; OpKind.Tanh; OpKind.Sigmoid; OpKind.Sin; OpKind.Cos; OpKind.Square; OpKind.Gelu
           OpKind.Softplus; OpKind.Abs; OpKind.Relu; OpKind.Silu; OpKind.HardSigmoid; OpKind.LogSigmoid |]
    let step (x: Node) : Node =
        match rng.Next 22 with
        | 0 | 1 -> un unaries.[rng.Next unaries.Length] x
        | 2 -> b.Unary(OpKind.LeakyRelu, x, span, 0.1)
        | 3 -> b.Unary(OpKind.Elu, x, span, 0.7)
        | 4 -> un OpKind.Exp (un OpKind.Tanh x)
        | 5 -> un ([| OpKind.Log; OpKind.Sqrt; OpKind.Reciprocal |].[rng.Next 3]) (pos x)
        | 6 -> bin OpKind.Div x (pos (pick ()))
        | 7 -> bin OpKind.Pow (pos x) (un OpKind.Tanh (pick ()))
        | 8 | 9 -> bin ([| OpKind.Add; OpKind.Sub; OpKind.Mul; OpKind.Max; OpKind.Min |].[rng.Next 5]) x (pick ())
        | 10 -> let y = pick () in b.Where(bin OpKind.GreaterEqual x y, x, y, span)
        | 11 ->
            let k = x.Shape.[-1]
            if x.Shape.Rank >= 3 && fixedDims x.Shape && rng.Next 2 = 0 then
                let lead = x.Shape.ToArray().[.. x.Shape.Rank - 3]
                b.MatMul(x, param (Shape(Array.append lead [| k; Dim.Of(1 + rng.Next 3) |])), span)
            else b.MatMul(x, param (Shape(k, Dim.Of(1 + rng.Next 3))), span)
        | 12 ->
            let perm = [| 0 .. x.Shape.Rank - 1 |] |> Array.sortBy (fun _ -> rng.Next())
            b.Transpose(x, span, perm)
        | 13 ->
            let d = x.Shape.ToArray()
            if fixedDims x.Shape then b.Reshape(x, Shape.Of(int x.Shape.FixedCount), span)
            elif not d.[0].IsFixed && fixedDims (Shape(d.[1..])) then
                b.Reshape(x, Shape(d.[0], Dim.Of(int (Shape(d.[1..]).FixedCount)), Dim.Of 1), span)
            else failwith "skip"
        | 14 -> b.Broadcast(x, Shape(Array.append [| Dim.Of 2 |] (x.Shape.ToArray())), span)
        | 15 ->
            let ax = fixedAxes x
            let y = pick ()
            b.Concat([ x; (if y.Shape.Equals x.Shape then y else x) ], ax.[rng.Next ax.Length], span)
        | 16 ->
            let ax = fixedAxes x |> Array.filter (fun i -> x.Shape.[i].Size >= 2)
            let a = ax.[rng.Next ax.Length]
            let size = x.Shape.[a].Size
            let lo = rng.Next(size - 1)
            let starts = Array.init x.Shape.Rank (fun i -> if i = a then lo else 0)
            let stops = Array.init x.Shape.Rank (fun i -> if i = a then lo + 1 + rng.Next(size - lo) else -1)
            b.Slice(x, starts, stops, span)
        | 17 ->
            let ax = fixedAxes x
            let a = ax.[rng.Next ax.Length]
            b.Pad(x, Array.init x.Shape.Rank (fun i -> if i = a then rng.Next 3 else 0),
                  Array.init x.Shape.Rank (fun i -> if i = a then rng.Next 3 else 0), span)
        | 18 ->
            let axes = [| 0 .. x.Shape.Rank - 1 |] |> Array.filter (fun _ -> rng.Next 2 = 0)
            b.Reduce([| OpKind.Sum; OpKind.Mean; OpKind.ReduceMax |].[rng.Next 3], x, axes, rng.Next 2 = 0, span)
        | 19 -> b.Softmax((if rng.Next 2 = 0 then OpKind.Softmax else OpKind.LogSoftmax), x, axisOf x, span)
        | 20 ->
            if x.Shape.Rank <> 4 then failwith "skip"
            match rng.Next 3 with
            | 0 ->
                let kh, kw = 1 + rng.Next 3, 1 + rng.Next 3
                let k = param (Shape(Dim.Of kh, Dim.Of kw, x.Shape.[3], Dim.Of(1 + rng.Next 3)))
                b.Conv2d(x, k, 1 + rng.Next 2, 1 + rng.Next 2, Array.init 4 (fun _ -> rng.Next 2), span)
            | 1 -> b.Pool(OpKind.AvgPool2d, x, 2, 1 + rng.Next 2, span)
            | _ -> b.Pool(OpKind.MaxPool2d, x, 2, (if opts.Overlap then 1 + rng.Next 2 else 2), span)
        | _ ->
            match rng.Next 4 with
            | 0 when opts.Dropout -> bin OpKind.Mul x (b.DropoutMask(x, 0.3, span))
            | 1 when x.Shape.[-1].IsFixed ->
                bin
                    OpKind.Mul
                    x
                    (b.OneHot(b.Add(OpKind.ArgMax, [| x |], OpAttrs(Axes = [| -1 |]), span), x.Shape.[-1].Size, span))
            | 2 -> bin OpKind.Mul x (un OpKind.Step (pick ()))
            // a fixed matrix as a table, its rows picked by the arg-max of each column (ids in 0..v-1, repeated)
            | 3 when x.Shape.Rank = 2 && fixedDims x.Shape ->
                b.Gather(x, b.Add(OpKind.ArgMax, [| x |], OpAttrs(Axes = [| 0 |]), span), span)
            // rankSum: the identity in one process (the sums across ranks: Runtime.IR.Primitives.Collective)
            | _ when rng.Next 4 = 0 -> b.RankSum(x, span)
            | _ -> bin OpKind.Mul x (un OpKind.Sign (pick ()))
    let count = 2 + rng.Next(max 1 (opts.MaxOps - 1))
    let mutable made = 0
    let mutable tries = 0
    while made < count && tries < 200 do
        tries <- tries + 1
        let x = pick ()
        try
            let y = step x
            if not y.IsSource && not (pool.Contains y) then
                for i in y.Inputs do used.Add i.Id |> ignore
                used.Add x.Id |> ignore
                pool.Add y
                made <- made + 1
        with
        | :? ShapeException -> ()
        | :? IndexOutOfRangeException -> ()
        | :? ArgumentException -> ()
        | e when e.Message = "skip" -> ()
    let ends = pool |> Seq.filter (fun n -> not n.IsSource && not (used.Contains n.Id)) |> List.ofSeq
    let last = pool.[pool.Count - 1]
    let ends = if ends.IsEmpty then [ last ] else ends
    let loss =
      ends
    |> List.mapi (fun i n ->
        let r = b.Input(sprintf "%s.r%d" prefix i, n.Shape, span)
        b.Reduce(OpKind.Sum, bin OpKind.Mul n r, [||], false, span))
      |> List.reduce (bin OpKind.Add)
    loss, last

/// Random ops on top of `pool`, mixed into a scalar loss.
let generate b rng prefix opts pool0 = fst (generateWithLast b rng prefix opts pool0)

/// Random values for every source of the graph (batch size n = 2): inputs uniform in [-1, 1],
/// parameters normal with std 0.8.
let feedsFor (nodes: seq<Node>) (seed: int) =
    let rng = Random seed
    let d = Dictionary<string, T64>()
    let bind = readOnlyDict [ "n", 2 ]
    for n in nodes do
        if n.Op = OpKind.Input || n.Op = OpKind.Param || n.Op = OpKind.State then
            let shape = n.Shape.Resolve(bind)
            let count = T64.CountOf shape
            let data =
                Array.init count (fun _ ->
                    if n.Op = OpKind.Input then rng.NextDouble() * 2.0 - 1.0
                    else 0.8 * sqrt (-2.0 * log (1.0 - rng.NextDouble())) * cos (2.0 * Math.PI * rng.NextDouble()))
            d.[n.Name] <- T64(shape, data)
    d

/// A random direction for each of the given nodes, same shapes as their feeds.
let directions (feeds: Dictionary<string, T64>) (wrt: Node[]) (seed: int) =
    let rng = Random seed
    wrt |> Array.map (fun w ->
        let f = feeds.[w.Name]
        T64(Array.copy f.Shape, Array.init f.Count (fun _ -> rng.NextDouble() * 2.0 - 1.0)))

/// The feeds moved by t·v along the wrt nodes.
let moved (feeds: Dictionary<string, T64>) (wrt: Node[]) (v: T64[]) (t: float) =
    let d = Dictionary<string, T64>(feeds)
    for i in 0 .. wrt.Length - 1 do
        let f = feeds.[wrt.[i].Name]
        d.[wrt.[i].Name] <- T64(Array.copy f.Shape, Array.init f.Count (fun j -> f.Data.[j] + t * v.[i].Data.[j]))
    d

let runOpts = RunOptions(Seed = 7UL, Step = 3L)

/// The value of one node of a graph under some feeds.
let valueOf (g: Graph) (node: Node) (feeds: Dictionary<string, T64>) =
    (Interp.Evaluate(g, feeds, [ node ], runOpts)).[node.Id]

/// Σᵢ ⟨aᵢ, bᵢ⟩.
let dot (a: T64[]) (b: T64[]) =
    Array.map2 (fun (x: T64) (y: T64) -> Array.fold2 (fun s p q -> s + p * q) 0.0 x.Data y.Data) a b |> Array.sum

/// Σᵢ Σ |aᵢ·bᵢ| (the scale a rounding error in ⟨a, b⟩ is measured against).
let absDot (a: T64[]) (b: T64[]) =
    Array.map2 (fun (x: T64) (y: T64) -> Array.fold2 (fun s p q -> s + abs (p * q)) 0.0 x.Data y.Data) a b
    |> Array.sum

/// Central difference of a scalar node along v: (f(θ + hv) − f(θ − hv)) / 2h.
let centralDiff (g: Graph) (f: Node) (feeds: Dictionary<string, T64>) (wrt: Node[]) (v: T64[]) (h: float) =
    let at t = (valueOf g f (moved feeds wrt v t)).Data |> Array.sum
    (at h - at (-h)) / (2.0 * h)

/// True when |a − b| ≤ atol + rtol·scale.
let close (atol: float) (rtol: float) (scale: float) (a: float) (b: float) = abs (a - b) <= atol + rtol * scale

/// A generated graph with its gradients: the builder, the loss, the wrt nodes (every Param and the input x)
/// and their gradient nodes.
type GradCase = { B: GraphBuilder; Loss: Node; Wrt: Node[]; Grads: Node[]; Seed: int }

let wrtOf (b: GraphBuilder) =
    b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param || n.Name = "x") |> Array.ofSeq

let gradCase (opts: GenOptions) (seed: int) =
    let b = GraphBuilder()
    let loss = generate b (Random seed) "g" opts (baseSources b)
    let wrt = wrtOf b
    { B = b; Loss = loss; Wrt = wrt; Grads = Autodiff.Backward.Gradients(b, loss, wrt); Seed = seed }

/// The graph with outputs "loss" and "d.<name>" for each gradient.
let graphOf (c: GradCase) =
    c.B.Build(
        KeyValuePair("loss", c.Loss)
        :: [ for i in 0 .. c.Wrt.Length - 1 -> KeyValuePair("d." + c.Wrt.[i].Name, c.Grads.[i]) ])

/// A property config: a few dozen random seeds.
let config n = { FsCheckConfig.defaultConfig with maxTest = n }

/// A graph seed drawn from the whole int range (FsCheck's plain ints stay within ±size, repeating small seeds).
let seedOf (FsCheck.DoNotSize (s: int)) = s &&& 0x3FFFFFFF
