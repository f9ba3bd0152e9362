/// Pipeline (model) parallelism: a training step cut into stages that run as threads over LocalCommunicator trains
/// as the single process does (the oracle: the fused executor, which the code did not change), within float32
/// rounding, on xor, iris (standardize, adam, clip = norm) and small digits networks (dropout; lenet's convolutions),
/// in 2 and 3 stages; the cut is balanced; what a pipeline cannot run is a clear error.
module Nn.Tests.Runtime.Distributed.PipelineTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open Nn.Runtime
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Distributed
open Nn.Compiler
open Nn.Tests.TestUtil

/// A program's first train block planned, the program read from `dir` with `edits` (regex, replacement) applied.
let private planIn (dir: string) (file: string) (edits: (string * string) list) =
    let source = File.ReadAllText(Path.Combine(dir, file))
    let text = edits |> List.fold (fun t (p, r) -> Regex.Replace(t, p, (r: string))) source
    match Compile.compileText (Path.Combine(dir, file)) text with
    | Ok c -> TrainPlan.create c c.Trains.Head
    | Error ds -> failtestf "did not compile: %A" (ds |> List.map (fun d -> d.Message))

/// Trains with the executor `make` gives: the losses of every epoch (training, validation) and the final values.
let private train (p: TrainPlan.Plan) (make: TrainPlan.Plan -> IStepExecutor) =
    let exec = make p
    let r = Trainer.Fit(p.Graphs, exec, p.Train, Option.toObj p.Validation, TrainPlan.options p.Config null null)
    [ for h in r.History -> h.TrainLoss, (if h.ValidationLoss.HasValue then h.ValidationLoss.Value else 0.0) ],
    exec.Snapshot()

let private single (p: TrainPlan.Plan) =
    Nn.Runtime.Executors.StepExecutor.Create(p.Graphs, p.Initial, ExecutorOptions(Engine = "fused"))

let private pipelined stages micro (p: TrainPlan.Plan) =
    Pipeline.Create(p.Graphs, p.Initial, stages, Option.toNullable micro, p.Config.Network, null)

/// Float32 rounding, accumulated over a few epochs of summing micro-batch gradients in another order: a relative
/// 1e-4 (the differences seen are 1e-6 to 1e-5).
let private close (a: float) (b: float) = abs (a - b) <= 1e-4 * max 1.0 (abs a)

type private Run = (float * float) list * Collections.Generic.Dictionary<string, HostTensor>

let private expectSameRun (name: string) (a: Run) (b: Run) =
    let la, va = a
    let lb, vb = b
    Expect.equal lb.Length la.Length (name + ": epochs")
    for (ta, sa), (tb, sb) in List.zip la lb do
        Expect.isTrue (close ta tb && close sa sb) (sprintf "%s: losses %g %g vs %g %g" name ta sa tb sb)
    Expect.equal (Set.ofSeq vb.Keys) (Set.ofSeq va.Keys) (name + ": the same parameters and states")
    for KeyValue(k, v) in va do
        let w = vb[k]
        Expect.equal w.Shape v.Shape (sprintf "%s: shape of %s" name k)
        let worst = Array.map2 (fun (x: float32) (y: float32) -> abs (float x - float y) / max 1.0 (abs (float x)))
                                v.Data w.Data |> Array.fold max 0.0
        Expect.isLessThanOrEqual worst 1e-4 (sprintf "%s: %s differs by %g" name k worst)

let private examples = Path.Combine(repoRoot, "examples")

/// The digits folder with 320 images, shared by the tests that need it.
let private digits = lazy (examplesWithMnistHead "nn-pipeline-" 320)

/// A small mnist-like MLP with dropout on the first 320 digits: 2 epochs of batch 32.
let private mlpEdits =
    [ @"let hidden = \[512; 256\]", "let hidden = [64; 32]"; @"epochs\s*=\s*20", "epochs = 2"
      @"batch\s*=\s*64", "batch = 32" ]

let private sameAsSingle (name: string) (dir: string) (file: string) edits (stages: int) (micro: int option) =
    test (sprintf "%s in %d stages (%s micro-batches) trains as one process" name stages
              (match micro with Some m -> string m | None -> "default")) {
        let p = planIn dir file edits
        expectSameRun name (train p single) (train (planIn dir file edits) (pipelined stages micro))
    }

let private error (f: unit -> 'a) =
    try
        f () |> ignore
        failtest "expected an NnRuntimeException"
    with :? NnRuntimeException as e -> e

/// `network deep` of `layers` dense 32 → 32 layers with tanh.
let private deep layers =
    "network deep (x: [n, 32]) : [n, 32] =\n    x" + String.replicate layers " |> dense 32 |> tanh" + "\n"

[<Tests>]
let tests =
    testList "Runtime.Distributed.Pipeline" [
        sameAsSingle "xor" examples "xor.nn" [ @"epochs\s*=\s*500", "epochs = 40" ] 2 None
        sameAsSingle "xor" examples "xor.nn" [ @"epochs\s*=\s*500", "epochs = 40" ] 2 (Some 3)
        sameAsSingle "iris" examples "iris.nn" [ @"epochs\s*=\s*200", "epochs = 6" ] 2 None
        sameAsSingle "iris" examples "iris.nn" [ @"epochs\s*=\s*200", "epochs = 6" ] 3 (Some 5)
        testSequenced <| testList "digits" [
            testCase "mlp with dropout, 2 stages" (fun () ->
                let d = digits.Force()
                let p = planIn d "mnist_mlp.nn" mlpEdits
                expectSameRun "mlp" (train p single) (train (planIn d "mnist_mlp.nn" mlpEdits) (pipelined 2 None)))
            testCase "mlp with dropout, 3 stages" (fun () ->
                let d = digits.Force()
                let p = planIn d "mnist_mlp.nn" mlpEdits
                let q = planIn d "mnist_mlp.nn" mlpEdits
                expectSameRun "mlp" (train p single) (train q (pipelined 3 (Some 2))))
            testCase "lenet, 2 stages" (fun () ->
                let d = digits.Force()
                let edits = [ @"epochs\s*=\s*10", "epochs = 1" ]
                let p = planIn d "lenet.nn" edits
                expectSameRun "lenet" (train p single) (train (planIn d "lenet.nn" edits) (pipelined 2 None)))
        ]

        test "the cut of equal layers gives every stage the same cost, by hand: 3 · (2·32·32 + 32 + 32) a layer" {
            let c = compiledText (deep 4 + "\ntrain deep {\n    data = rows [ [" + String.replicate 31 "0; " + "0], ["
                                   + String.replicate 31 "0; " + "0] ]\n    loss = mse\n}\n")
            let p = TrainPlan.create c c.Trains.Head
            let layer = 3.0 * (2.0 * 32.0 * 32.0 + 32.0 + 32.0)
            for stages, layers in [ 1, 4; 2, 2; 4, 1 ] do
                let cut = PipelineGraphs.Build(p.Graphs, stages, "deep").Cut
                Expect.equal (cut.Stages |> Seq.map (fun s -> s.Cost) |> List.ofSeq)
                    (List.replicate stages (float layers * layer)) (sprintf "%d stages" stages)
                Expect.equal (cut.Stages |> Seq.map (fun s -> s.Params.Count) |> List.ofSeq)
                    (List.replicate stages (2 * layers)) "each stage its layers' w and b"
            // three stages of four equal layers: the best is 2 + 1 + 1 (in some order), never 2 + 2 + 0
            let three = PipelineGraphs.Build(p.Graphs, 3, "deep").Cut
            Expect.equal (three.Stages |> Seq.map (fun s -> s.Cost) |> Seq.max) (2.0 * layer) "largest stage"
        }

        test "micro-batches are row ranges as equal as possible, never empty" {
            let ten = [| struct (0, 3); struct (3, 3); struct (6, 2); struct (8, 2) |]
            Expect.equal (PipelineExecutor.Split(10, 4)) ten "10 rows in 4"
            let three = [| struct (0, 1); struct (1, 1); struct (2, 1) |]
            Expect.equal (PipelineExecutor.Split(3, 8)) three "3 rows: 3 micro-batches"
        }

        test "batchNorm is refused at its line (NN0822)" {
            let c =
                compiledText ("network net (x: [n, 3]) : [n, 1] =\n    x |> dense 4 |> batchNorm |> dense 1\n\n"
                              + "train net {\n    data = rows [ [0; 0; 0], [1] ]\n    loss = mse\n}\n")
            let p = TrainPlan.create c c.Trains.Head
            let e = error (fun () -> PipelineGraphs.Build(p.Graphs, 2, "net"))
            Expect.equal e.Code "NN0822" "code"
            Expect.equal e.Span.Line 2 "the network's line"
            Expect.stringContains e.Description "micro-batch" "why"
        }

        test "more stages than places to cut is NN0821, naming how many there can be" {
            let p = planIn examples "xor.nn" []
            // matMul, add, tanh, matMul, add, sigmoid: five cuts (cuts between layers are preferred, not required)
            let e = error (fun () -> PipelineGraphs.Build(p.Graphs, 7, "xor"))
            Expect.equal e.Code "NN0821" "code"
            Expect.stringContains e.Description "at most 6 stages, not 7" "message"
        }

        test "a job of another size than the stages, or no micro-batch, is NN0820" {
            let p = planIn examples "xor.nn" []
            let comms = LocalCommunicator.Create 3
            let e = error (fun () -> Pipeline.Create(p.Graphs, p.Initial, 2, Nullable(), "xor", comms[0]))
            Expect.equal e.Code "NN0820" "ranks"
            let e = error (fun () -> Pipeline.Create(p.Graphs, p.Initial, 2, Nullable 0, "xor", null))
            Expect.equal e.Code "NN0820" "micro-batches"
        }
    ]
