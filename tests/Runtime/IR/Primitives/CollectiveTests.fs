/// rankSum, the collective op of data parallelism, on N ranks that are N threads (the runtime's LocalCommunicator):
/// the sum every rank gets, batchNorm's statistics across ranks against the formula on the whole batch, and the
/// gradient of the ranks' summed objective against float64 central differences (its adjoint is the same sum of the
/// adjoints, so each rank's backward pass carries the other ranks' terms).
module Nn.Tests.Runtime.IR.Primitives.CollectiveTests

open System
open System.Collections.Generic
open System.Threading
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Autodiff
open Nn.Runtime.Execution
open Nn.Runtime.Distributed
open Nn.Tests.Runtime.Autodiff

let private sp = SourceSpan.None

/// Runs <c>work rank ranks</c> on every rank of a new job of n threads; the results by rank.
let private onRanks (n: int) (work: int -> Training.IRankSum -> 'a) : 'a[] =
    let job = Nn.Tests.Compiler.EmbeddingDistributedTests.ThreadJob n
    job.OnRanks(fun r -> work r (CommunicatorRankSum(job.Rank r)))

/// Unequal shares of a batch of 9 rows with 3 features: 4 + 5 rows on 2 ranks, 2 + 3 + 4 on 3.
let private sharesOf n = if n = 2 then [| 4; 5 |] else [| 2; 3; 4 |]
let private features = 3
/// The batch's rows (fixed, uneven in every column) and the objective's weights per element.
let private batch = Array.init (9 * features) (fun i -> sin (float i * 1.7) * 2.0 + float (i % features))
let private weights = Array.init (9 * features) (fun i -> cos (float i * 0.9))
let private gain = [| 1.5; 0.5; 2.0 |]
let private bias = [| 0.1; -0.2; 0.3 |]

/// A rank's graph: y = batchNorm across ranks of x, objective f = Σ tanh(y)·c, and ∂f/∂x, ∂f/∂gain.
let private rankGraph (rows: int) =
    let b = GraphBuilder()
    let x = b.Input("x", Shape.Of(rows, features), sp)
    let c = b.Input("c", Shape.Of(rows, features), sp)
    let r = Layers.BatchNorm(b, x, "bn", true, sp, acrossRanks = true)
    let f = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, b.Unary(OpKind.Tanh, r.Output, sp), c, sp), [||], false, sp)
    let g = b.Nodes |> Seq.find (fun p -> p.Op = OpKind.Param && p.Name = "bn.gain")
    let grads = Backward.Gradients(b, f, [| x; g |])
    let outs =
        [ ("f", f); ("y", r.Output); ("dx", grads[0]); ("dgain", grads[1]) ]
        @ [ for KeyValue(s, v) in r.Updates -> "new:" + s.Name, v ]
    b.Build(outs |> List.map KeyValuePair)

/// Every rank's outputs for the batch <paramref name="xs"/> (float64 reference interpreter).
let private run n (xs: float[]) =
    let shares = sharesOf n
    onRanks n (fun rank ranks ->
        let first = Array.sum shares[.. rank - 1]
        let part (a: float[]) = a[first * features .. (first + shares[rank]) * features - 1]
        let feeds = Dictionary<string, Tensor<float>>()
        feeds["x"] <- Tensor<float>([| shares[rank]; features |], part xs)
        feeds["c"] <- Tensor<float>([| shares[rank]; features |], part weights)
        feeds["bn.gain"] <- Tensor<float>([| features |], Array.copy gain)
        feeds["bn.bias"] <- Tensor<float>([| features |], Array.copy bias)
        feeds["bn.mean"] <- Tensor<float>([| features |], Array.zeroCreate features)
        feeds["bn.var"] <- Tensor<float>([| features |], Array.create features 1.0)
        let outs = ReferenceInterpreter<float>.Run(rankGraph shares[rank], feeds, RunOptions(Ranks = ranks))
        outs |> Seq.map (fun kv -> kv.Key, kv.Value.Data) |> Map.ofSeq)

[<Tests>]
let tests =
    testList "Runtime.IR.Primitives.Collective" [
        test "rankSum on 3 ranks: every rank gets the element-wise sum, in float32 and float64" {
            let sums =
                onRanks 3 (fun rank ranks ->
                    let b = GraphBuilder()
                    let x = b.Input("x", Shape.Of 2, sp)
                    let g = b.Build [ KeyValuePair("y", b.RankSum(x, sp)) ]
                    let feeds = Dictionary<string, Tensor<float>>()
                    feeds["x"] <- Tensor<float>([| 2 |], [| float rank; 10.0 * float (rank + 1) |])
                    let y64 = (ReferenceInterpreter<float>.Run(g, feeds, RunOptions(Ranks = ranks))).["y"].Data
                    let feeds32 = Dictionary<string, Tensor<float32>>()
                    feeds32["x"] <- Tensor<float32>([| 2 |], [| float32 rank; 10.0f * float32 (rank + 1) |])
                    let y32 = (ReferenceInterpreter<float32>.Run(g, feeds32, RunOptions(Ranks = ranks))).["y"].Data
                    y64, y32)
            for y64, y32 in sums do
                Expect.sequenceEqual y64 [| 3.0; 60.0 |] "0+1+2, 10+20+30 (float64)"
                Expect.sequenceEqual y32 [| 3.0f; 60.0f |] "0+1+2, 10+20+30 (float32)"
        }

        for n in [ 2; 3 ] do
            test $"batchNorm across {n} unequal shares = batchNorm of the whole batch (values, running statistics)" {
                let outs = run n batch
                let col j = [| for i in 0 .. 8 -> batch[i * features + j] |]
                let mean = Array.init features (fun j -> Array.average (col j))
                let var = Array.init features (fun j -> col j |> Array.averageBy (fun v -> (v - mean[j]) ** 2.0))
                let expected =
                    Array.init (9 * features) (fun i ->
                        let j = i % features
                        gain[j] * (batch[i] - mean[j]) / sqrt (var[j] + Layers.DefaultEps) + bias[j])
                let y = outs |> Array.collect (fun o -> o["y"])
                for i in 0 .. y.Length - 1 do
                    Expect.floatClose { absolute = 1e-12; relative = 1e-12 } y[i] expected[i] $"y[{i}]"
                for o in outs do
                    for j in 0 .. features - 1 do
                        let m = Layers.DefaultMomentum
                        let runMean, runVar = o["new:bn.mean"], o["new:bn.var"]
                        Expect.floatClose { absolute = 1e-12; relative = 1e-12 } runMean[j]
                            ((1.0 - m) * mean[j]) $"running mean {j}"
                        Expect.floatClose { absolute = 1e-12; relative = 1e-12 } runVar[j]
                            (m + (1.0 - m) * var[j]) $"running variance {j}"
            }

            test $"∂(Σ ranks' objectives)/∂x and /∂gain on {n} ranks = float64 central differences" {
                let outs = run n batch
                let total (xs: float[]) = run n xs |> Array.sumBy (fun o -> o["f"][0])
                let dx = outs |> Array.collect (fun o -> o["dx"])
                let h = 1e-5
                let scale = abs (total batch)
                for i in 0 .. batch.Length - 1 do
                    let at d = Array.mapi (fun k v -> if k = i then v + d else v) batch
                    let fd = (total (at h) - total (at -h)) / (2.0 * h)
                    if not (Tolerance.withinScale Tolerance.gradient scale fd dx[i]) then
                        failtestf "∂/∂x[%d]: %.12g symbolic, %.12g by differences" i dx[i] fd
                // gain is every rank's: its gradient is the sum of the ranks' ∂f/∂gain
                let dgain = Array.init features (fun j -> outs |> Array.sumBy (fun o -> o["dgain"][j]))
                let all =
                    Array.init features (fun j ->
                        let y = Array.init 9 (fun i ->
                            let k = i * features + j
                            let m = Array.average [| for r in 0 .. 8 -> batch[r * features + j] |]
                            let v = Array.average [| for r in 0 .. 8 -> (batch[r * features + j] - m) ** 2.0 |]
                            (batch[k] - m) / sqrt (v + Layers.DefaultEps))
                        // ∂/∂gain_j of Σ tanh(gain·ŷ + bias)·c = Σ (1 − tanh²)·ŷ·c
                        Array.init 9 (fun i ->
                            let t = tanh (gain[j] * y[i] + bias[j])
                            (1.0 - t * t) * y[i] * weights[i * features + j]) |> Array.sum)
                for j in 0 .. features - 1 do
                    Expect.floatClose { absolute = 1e-10; relative = 1e-10 } dgain[j] all[j] $"∂/∂gain[{j}]"
            }
    ]
