/// The training step's own kernels on the fused engine: narrow matrix products (n ≤ 16) against the reference,
/// the SGD updates' streaming pass (values, the non-finite check, threads), the plan order that runs each
/// update right after its weight gradient, and loops merged so that an Adam update is one pass.
module Nn.Tests.Runtime.Engine.StepKernelTests

open System
open System.Collections.Generic
open Expecto
open FsCheck
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Execution
open Nn.Runtime.Training
open Nn.Runtime.Ops
open Nn.Runtime.Engine
open Nn.Runtime.Engine.Planning
open Nn.Runtime.Kernels
open Nn.Runtime.Executors

let private sp = SourceSpan.None

let private randomTensor (rng: Random) (shape: int[]) =
    HostTensor(shape, Array.init (Array.fold (*) 1 shape) (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0)))

/// act(op(a) @ op(b) + bias) on the fused engine and on the reference; the plan must be one GEMM.
let private productAgrees
    (m: int)
    (n: int)
    (k: int)
    (ta: bool)
    (tb: bool)
    (bias: bool)
    (act: OpKind option)
    (seed: int)
    =
    let b = GraphBuilder()
    let a = b.Input("a", (if ta then Shape.Of(k, m) else Shape.Of(m, k)), sp)
    let w = b.Input("b", (if tb then Shape.Of(n, k) else Shape.Of(k, n)), sp)
    let prod =
        b.MatMul(
            (if ta then b.Transpose(a, sp, [| 1; 0 |]) else a),
            (if tb then b.Transpose(w, sp, [| 1; 0 |]) else w),
            sp
        )
    let withBias = if bias then b.Binary(OpKind.Add, prod, b.Input("bias", Shape.Of n, sp), sp) else prod
    let out = match act with Some op -> b.Unary(op, withBias, sp) | None -> withBias
    let g = b.Build [ KeyValuePair("y", out) ]
    let rng = Random seed
    let feeds = Dictionary<string, HostTensor>()
    feeds["a"] <- randomTensor rng (if ta then [| k; m |] else [| m; k |])
    feeds["b"] <- randomTensor rng (if tb then [| n; k |] else [| k; n |])
    if bias then feeds["bias"] <- randomTensor rng [| n |]
    let plan = GraphRunner.Compile(g, feeds).Plan
    Expect.equal (plan.Kernels |> Seq.map (fun k -> k.GetType().Name) |> List.ofSeq) [ "GemmKernel" ] "one GEMM kernel"
    let expected =
        ReferenceInterpreter<float32>.Run(
            g,
            feeds
            |> Seq.map (fun kv -> KeyValuePair(kv.Key, Tensor<float32>(kv.Value.Shape, kv.Value.Data)))
            |> Dictionary,
            RunOptions()
        )
    let actual = GraphRunner.Run(g, feeds)
    let e, a = expected["y"].Data, actual["y"].Data
    Expect.equal a.Length e.Length "length"
    for i in 0 .. e.Length - 1 do
        if not (abs (float a[i] - float e[i]) <= 1e-4 * float k + 1e-4 * abs (float e[i])) then
            failtestf "%dx%dx%d ta=%b tb=%b bias=%b %A: y[%d] fused %g, reference %g" m n k ta tb bias act i a[i] e[i]

let private dense (b: GraphBuilder) (x: Node) (i: int) (o: int) (name: string) =
    let w = b.Param(name + ".w", Shape.Of(i, o), InitSpec("glorot"), sp)
    let bias = b.Param(name + ".b", Shape.Of o, InitSpec("uniform", -0.1, 0.1), sp)
    b.Binary(OpKind.Add, b.MatMul(x, w, sp), bias, sp)

/// 24 → width → 3 relu MLP with mse, trained with `opt`.
let private mlp (width: int) (opt: OptimizerSpec) =
    let fwd (ctx: ForwardContext) =
        let b = ctx.Builder
        let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 24), sp)
        dense b (b.Unary(OpKind.Relu, dense b x 24 width "d1", sp)) width 3 "d2"
    TrainStep.Build(ForwardBuilder fwd, TrainSpec(Loss = LossKind.Mse, Optimizer = opt))

let private data (rng: Random) (rows: int) (targetScale: float32) =
    let x = randomTensor rng [| rows; 24 |]
    let y = HostTensor([| rows; 3 |], Array.init (rows * 3) (fun _ -> targetScale * float32 (rng.NextDouble())))
    x, y

let private close (what: string) (a: float32[]) (e: float32[]) =
    for i in 0 .. e.Length - 1 do
        if not (abs (float a[i] - float e[i]) <= 2e-4 + 2e-3 * abs (float e[i])) then
            failtestf "%s[%d]: fused %g, reference %g" what i a[i] e[i]

let private sgdKinds =
    [ "sgd", OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.05)
      "sgd momentum", OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.05, Momentum = 0.9) ]

[<Tests>]
let tests =
    testList "Runtime.Engine.StepKernels" [
        testList "narrow products (n ≤ 16) equal the reference" [
            // With a transposed A and m ≥ 16 the rows of C are blocks of 32 (n ≤ 10) or 16, the last overlapping:
            // 1024 and 784 (= 24·32 + 16) rows, 17 and 37 (overlapping 16-row blocks), 11..16 columns (16-row blocks
            // only).
            for m, n, k in
                [ (64, 10, 256); (37, 16, 130); (300, 1, 40); (9, 3, 600); (256, 10, 1024); (1024, 10, 256)
                  (784, 11, 64); (17, 13, 30) ] do
                for ta, tb in [ (false, false); (true, false); (false, true); (true, true) ] do
                    yield test (sprintf "%dx%dx%d ta=%b tb=%b" m n k ta tb) {
                        productAgrees m n k ta tb false None (m + n + k)
                    }
            yield test "with bias and relu" { productAgrees 70 10 200 false false true (Some OpKind.Relu) 1 }
            yield test "with bias and tanh, transposed A" {
                productAgrees 33 7 150 true false true (Some OpKind.Tanh) 2
            }
            yield test "with bias and sigmoid, transposed B" {
                productAgrees 45 12 100 false true true (Some OpKind.Sigmoid) 3
            }
            yield testPropertyWithConfig
                { FsCheckConfig.defaultConfig with maxTest = 40 }
                "random shapes, flags and epilogues"
                (fun (seed: int) ->
                    let r = Random seed
                    let m, n = r.Next(1, 80), r.Next(1, 17)
                    let k = max (r.Next(1, 300)) (4097 / (m * n) + 1)
                    let act = [| None; Some OpKind.Relu; Some OpKind.Tanh; Some OpKind.Sigmoid |][r.Next 4]
                    let bias = act.IsSome || r.Next 2 = 0
                    productAgrees m n k (r.Next 2 = 0) (r.Next 2 = 0) bias act seed)
        ]
        testList "SGD updates in one pass equal the reference" [
            for name, opt in sgdKinds do
                for threads in [ 1; 2 ] ->
                    test (sprintf "%s, %d thread(s), weights long enough to split" name threads) {
                        let graphs = mlp 2048 opt
                        let init = Initializers.ForGraph(graphs.Train, 3UL)
                        let fused = StepExecutor.Create(graphs, init, ExecutorOptions(Threads = threads))
                        let reference = StepExecutor.Create(graphs, init, ExecutorOptions(Engine = "reference"))
                        let rng = Random 5
                        for s in 1 .. 3 do
                            let x, y = data rng 20 1.0f
                            let a, e = fused.Step(x, y, 0.05, int64 s, 1UL), reference.Step(x, y, 0.05, int64 s, 1UL)
                            close "loss" [| float32 a.Loss |] [| float32 e.Loss |]
                        let sa = fused.Snapshot()
                        for kv in reference.Snapshot() do close kv.Key sa[kv.Key].Data kv.Value.Data
                    }
        ]
        testList "the warm-up step (Prepare) changes no value, and the steps after it are those without it" [
            // Prepare puts nothing back (issue #18): it relies on a step writing its new values into buffers of its
            // own until Commit, for every optimizer's state, with the updates inside the products (width 2048) or not
            for kind in OptimizerKind.Builtins do
                for width, threads in [ 2048, 1; 2048, 2; 64, 2 ] ->
                    test (sprintf "%s, width %d, %d thread(s)" kind.Name width threads) {
                        let momentum = if kind = OptimizerKind.Sgd then 0.9 else 0.0
                        let opt = OptimizerSpec(Kind = kind, Lr = 0.01, Momentum = momentum)
                        let graphs = mlp width opt
                        let create () =
                            StepExecutor.Create(
                                graphs, Initializers.ForGraph(graphs.Train, 3UL), ExecutorOptions(Threads = threads))
                        let warmed, plain = create (), create ()
                        let rng = Random 7
                        let x, y = data rng 8 1.0f
                        let x2, y2 = data rng 5 1.0f
                        for e in [ warmed; plain ] do e.Step(x, y, 0.01, 1L, 1UL) |> ignore
                        let before = warmed.Snapshot()
                        warmed.Prepare(x2, y2, true) // a new batch shape
                        warmed.Prepare(x, y, true) // a bound one
                        for kv in warmed.Snapshot() do
                            Expect.equal kv.Value.Data before[kv.Key].Data $"{kv.Key} unchanged"
                        for e in [ warmed; plain ] do
                            e.Step(x2, y2, 0.01, 2L, 1UL) |> ignore
                            e.Step(x, y, 0.01, 3L, 1UL) |> ignore
                        let after = plain.Snapshot()
                        for kv in warmed.Snapshot() do
                            Expect.equal kv.Value.Data after[kv.Key].Data $"{kv.Key} as without the warm-up"
                    }
        ]
        testList "an update that overflows (finite loss and gradients) is caught and leaves every value unchanged" [
            for name, opt in sgdKinds do
                for threads in [ 1; 2 ] ->
                    test (sprintf "%s, %d thread(s)" name threads) {
                        let graphs = mlp 2048 opt
                        let exec =
                            StepExecutor.Create(
                                graphs,
                                Initializers.ForGraph(graphs.Train, 3UL),
                                ExecutorOptions(Threads = threads)
                            )
                        let rng = Random 6
                        let x, y = data rng 8 1.0f
                        exec.Step(x, y, 0.01, 1L, 1UL) |> ignore
                        let before = exec.Snapshot()
                        let x2, y2 = data rng 8 1000.0f
                        Expect.throwsT<NonFiniteException>
                            (fun () -> exec.Step(x2, y2, 3e38, 2L, 1UL) |> ignore)
                            "the step fails"
                        for kv in exec.Snapshot() do
                            Expect.equal kv.Value.Data before[kv.Key].Data $"{kv.Key} unchanged"
                    }
        ]
        test (
            "each weight's update stores one of its new values over the gradient's buffer, which the step then swaps in"
        ) {
            let graphs = mlp 64 (OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.05, Momentum = 0.9))
            let exec =
                StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1UL), ExecutorOptions())
                :?> FusedExecutor
            let plan = exec.TrainPlan
            let dims = Dictionary<string, int>(dict [ "n", 20 ])
            let counts =
                plan.Graph.Nodes
                |> Seq.map (fun x -> x.Shape.Resolve(dims) |> Array.fold (fun c d -> c * int64 d) 1L)
                |> Array.ofSeq
            let buffers = Nn.Runtime.Engine.Memory.BufferAssigner.Assign(plan, counts)
            // the weight gradients: the products with a transposed A (xᵀ @ dy)
            let gradients =
                plan.Kernels
                |> Seq.choose (function
                    | :? GemmKernel as g when g.TransA -> Some g.Output.Id
                    | _ -> None)
                |> Set.ofSeq
            Expect.equal gradients.Count 2 "two weight gradients"
            let updated =
                plan.Graph.Outputs
                |> Seq.filter (fun o -> o.Key.StartsWith TrainStep.NewPrefix)
                |> Seq.map (fun o -> o.Value)
                |> List.ofSeq
            let hosted = updated |> List.filter (fun v -> gradients.Contains buffers.InPlace[v.Id])
            Expect.equal
                (hosted |> List.map (fun v -> buffers.InPlace[v.Id]) |> Set.ofList)
                gradients
                "every weight gradient hosts a new value"
            for v in hosted do
                Expect.equal buffers.SlotOf[v.Id] buffers.SlotOf[buffers.InPlace[v.Id]] "same slot"
                Expect.equal
                    buffers.SlotSizes[buffers.SlotOf[v.Id]]
                    counts[v.Id]
                    "of the value's exact size (its array is swapped with the old value's)"
        }
        test "each weight's update runs right after the product that computes its gradient" {
            let graphs = mlp 64 (OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.05, Momentum = 0.9))
            let exec =
                StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1UL), ExecutorOptions())
                :?> FusedExecutor
            let plan = exec.TrainPlan
            let kernels = plan.Kernels |> Array.ofSeq
            let newWeights =
                plan.Graph.Outputs |> Seq.filter (fun o -> o.Key.StartsWith TrainStep.NewPrefix && o.Key.EndsWith ".w")
                |> Seq.map (fun o -> o.Value) |> HashSet
            let updates =
                kernels |> Array.indexed |> Array.filter (fun (_, k) -> k.Writes |> Seq.exists newWeights.Contains)
            for i, u in updates do
                match kernels[i - 1] with
                | :? GemmKernel as g when u.Reads |> Seq.contains g.Output -> ()
                | k ->
                    failtestf
                        "k%d (%s) follows k%d (%s), not its gradient's GEMM"
                        i
                        (u.Describe())
                        (i - 1)
                        (k.Describe())
            Expect.equal updates.Length 2 "two weight updates directly after their GEMMs"
        }
        test "an Adam update (both moments and the weight) is one fused loop that stores only the new values" {
            let graphs = mlp 64 (OptimizerSpec(Kind = OptimizerKind.Adam, Lr = 0.01))
            let exec =
                StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1UL), ExecutorOptions())
                :?> FusedExecutor
            let plan = exec.TrainPlan
            let outputs = plan.Graph.Outputs |> Seq.map (fun o -> o.Value) |> HashSet
            for p in [ "d1.w"; "d2.w" ] do
                let news = [ p; p + ".m"; p + ".v" ] |> List.map (fun n -> plan.Graph.Output(TrainStep.NewPrefix + n))
                let writers =
                    plan.Kernels
                    |> Seq.filter (fun k -> news |> List.exists (fun v -> k.Writes |> Seq.contains v))
                    |> List.ofSeq
                match writers with
                | [ :? FusedLoop as l ] ->
                    let stored = l.Ops |> Seq.filter (fun o -> o.Store) |> Seq.map (fun o -> o.Node) |> List.ofSeq
                    for v in stored do
                        if not (outputs.Contains v) && v.Shape.Rank = 2 then
                            failtestf "%s's loop stores the intermediate %O" p v
                | ks ->
                    failtestf
                        "%s's new values come from %d kernels: %A"
                        p
                        ks.Length
                        (ks |> List.map (fun k -> k.Describe()))
        }
    ]
