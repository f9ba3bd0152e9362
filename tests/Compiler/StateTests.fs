/// `state` declarations: buffers (an initializer) and adapted states (an expression computed once over the training
/// rows before training), checked against a direct float64 computation of the same statistics.
module Nn.Tests.Compiler.StateTests

open System
open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Runtime.IR
open Nn.Runtime.Training
open Nn.Runtime.Execution
open Nn.Compiler
open Nn.Tests.TestUtil

let private compile = compiledText

/// The rows come from the test (TrainPlan.createWith), so `data` is only a placeholder here.
let private trainBlock =
    "\n\ntrain t {\n    data      = rows [ [0], [0] ]\n    loss      = mse\n    optimizer = sgd { lr = 0.01 }\n"
    + "    batch     = 4\n    epochs    = 2\n}\n"

/// Rows with a constant column (the second) and columns of very different scales.
let private rows =
    [| [| 1.5f; 7.0f; 1000.25f |]
       [| -2.0f; 7.0f; 1003.5f |]
       [| 0.25f; 7.0f; 999.0f |]
       [| 3.75f; 7.0f; 1001.75f |]
       [| 1.0f; 7.0f; 998.5f |] |]

let private dataset (width: int) =
    let x = HostTensor([| rows.Length; 3 |], Array.concat rows)
    Dataset(x, HostTensor([| rows.Length; width |], Array.init (rows.Length * width) float32))

let private plan (program: string) (width: int) =
    let c = compile (program + trainBlock)
    TrainPlan.createWith c c.Trains.Head (Some(dataset width))

/// numpy's x.mean(axis=0) and x.std(axis=0) (population), in float64.
let private stats (m: float[][]) =
    let n = float m.Length
    let cols = m[0].Length
    let mean = Array.init cols (fun j -> (m |> Array.sumBy (fun r -> r[j])) / n)
    let std = Array.init cols (fun j -> sqrt ((m |> Array.sumBy (fun r -> (r[j] - mean[j]) ** 2.0)) / n))
    mean, std

let private values (p: TrainPlan.Plan) name = p.Initial[name].Data |> Array.map float

let private close (tolerance: float) (actual: float[]) (expected: float[]) what =
    Expect.equal actual.Length expected.Length (what + ": length")
    for j in 0 .. actual.Length - 1 do
        let scale = max 1.0 (abs expected[j])
        Expect.isLessThanOrEqual
            (abs (actual[j] - expected[j]) / scale)
            tolerance
            (sprintf "%s[%d]: %g vs %g" what j actual[j] expected[j])

/// The scale standardize divides by: the std, or 1 for a constant feature.
let private scaleOf (s: float) = if s = 0.0 then 1.0 else s

[<Tests>]
let tests =
    testList "Compiler.State" [
        test "a state in the train block's target is adapted too, under target., apart from the network's" {
            let program =
                "network t (x: [n, 3]) : [n, 3] =\n    x |> standardize\n\n"
                + "train t {\n    data   = rows [ [0; 0; 0], [0] ]\n"
                + "    target = input * 2.0 |> standardize\n    loss   = mse\n    epochs = 1\n}\n"
            let c = compile program
            let p =
                TrainPlan.createWith
                    c
                    c.Trains.Head
                    (Some(Dataset(HostTensor([| rows.Length; 3 |], Array.concat rows), null)))
            let mean, std = stats (rows |> Array.map (Array.map float))
            close 1e-6 (values p "standardize1.mean") mean "the network's mean"
            close
                1e-6
                (values p "target.standardize1.mean")
                (mean |> Array.map ((*) 2.0))
                "the target's mean (of input * 2)"
            close 1e-5 (values p "target.standardize1.std") (std |> Array.map ((*) 2.0)) "the target's std"
            let exec = ReferenceExecutor(p.Graphs, p.Initial)
            let result = Trainer.Fit(p.Graphs, exec, p.Train, null, TrainPlan.options p.Config null null)
            Expect.isTrue (Double.IsFinite result.History[0].TrainLoss) "trains"
        }
        test "standardize learns numpy's mean and population std over the training rows, as [1, d] states" {
            let p = plan "network t (x: [n, 3]) : [n, 3] =\n    x |> standardize" 3
            let mean, std = stats (rows |> Array.map (Array.map float))
            Expect.equal p.Initial["standardize1.mean"].Shape [| 1; 3 |] "mean keeps the reduced axis"
            Expect.equal p.Initial["standardize1.std"].Shape [| 1; 3 |] "std too"
            close 1e-7 (values p "standardize1.mean") mean "mean"
            close 1e-7 (values p "standardize1.std") std "std"
            Expect.equal (values p "standardize1.std").[1] 0.0 "a constant column has std exactly 0"
        }

        test "a constant feature is only shifted, and the output is finite and standardized" {
            let p = plan "network t (x: [n, 3]) : [n, 3] =\n    x |> standardize" 3
            let exec = ReferenceExecutor(p.Graphs, p.Initial)
            let out = exec.Predict(p.Train.Features)
            Expect.isTrue (out.Data |> Array.forall Single.IsFinite) "no Inf or NaN"
            for r in 0 .. rows.Length - 1 do
                Expect.equal out.Data[r * 3 + 1] 0.0f "the constant column becomes 0"
            for j in [ 0; 2 ] do
                let col = Array.init rows.Length (fun r -> float out.Data[r * 3 + j])
                let m, s = stats (col |> Array.map (fun v -> [| v |]))
                Expect.isLessThan (abs m[0]) 1e-4 (sprintf "column %d has mean 0" j)
                Expect.isLessThan (abs (s[0] - 1.0)) 1e-4 (sprintf "column %d has std 1" j)
        }

        test "chained: a standardize after dense layers sees the statistics adapted before it" {
            let p = plan "network t (x: [n, 3]) : [n, 2] =\n    x |> standardize |> dense 2 |> standardize" 2
            let x = rows |> Array.map (Array.map float)
            let m1, s1 = values p "standardize1.mean", values p "standardize1.std"
            let w, b = values p "dense1.w", values p "dense1.b"
            let layer (m: float[]) (s: float[]) =
                x |> Array.map (fun r ->
                    let z = Array.init 3 (fun j -> (r[j] - m[j]) / scaleOf s[j])
                    Array.init 2 (fun k -> b[k] + Seq.sum (seq { for j in 0..2 -> z[j] * w[j * 2 + k] })))
            let mean2, std2 = stats (layer m1 s1)
            close 1e-6 (values p "standardize2.mean") mean2 "second mean"
            close 1e-6 (values p "standardize2.std") std2 "second std"
            // the same statistics computed with the first layer still at its initial values (mean 0, std 0) differ
            let mean0, _ = stats (layer [| 0.0; 0.0; 0.0 |] [| 0.0; 0.0; 0.0 |])
            Expect.isGreaterThan (Array.map2 (fun a b -> abs (a - b)) mean0 mean2 |> Array.max) 1.0 "the chain matters"
        }

        test "adapted states are computed in declaration order over a generic expression" {
            let program =
                "network t (x: [n, 3]) : [n, 3] =\n    state peak = reduceMax 0 x\n"
                + "    state shifted = mean 0 (x - peak)\n    x - peak + shifted"
            let p = plan program 3
            let x = rows |> Array.map (Array.map float)
            let peak = Array.init 3 (fun j -> x |> Array.map (fun r -> r[j]) |> Array.max)
            close 0.0 (values p "peak") peak "peak"
            let shifted, _ = stats (x |> Array.map (fun r -> Array.map2 (-) r peak))
            close 1e-7 (values p "shifted") shifted "shifted uses the adapted peak"
        }

        DiagnosticsHelpers.case
            "NN0612 an adapted state that is not finite, at its expression"
            DiagnosticsHelpers.planErrors
            """
network t (x: [n, 2]) : [n, 2] =
    state s = log (mean 0 x)
    x * s

train t {
    data = rows [ [1; -3], [0; 0]; [2; -1], [1; 1] ]
    loss = mse
}
"""
            """
test.nn(2,15): error NN0612: the state `s`, computed over the 2 training rows, is NaN or infinite
  |
2 |     state s = log (mean 0 x)
  |               ^^^^^^^^^^^^^^"""

        test "a buffer keeps its initial value through training and is named by the call path" {
            let program =
                "let offset x =\n    state c : [3] = constant 2.5\n    x + c\n\n"
                + "network t (x: [n, 3]) : [n, 3] =\n    x |> offset |> dense 3"
            let p = plan program 3
            Expect.equal p.Initial["offset1.c"].Data [| 2.5f; 2.5f; 2.5f |] "the initializer"
            let exec = ReferenceExecutor(p.Graphs, p.Initial)
            // inputs near 1000 with lr 0.01 diverge (the loss grows 4.5e7-fold at step 2): only the buffer matters here
            let options = TrainOptions(Epochs = p.Config.Epochs, Batch = p.Config.Batch, Divergence = 0.0)
            Trainer.Fit(p.Graphs, exec, p.Train, null, options) |> ignore
            let after = exec.Snapshot()
            Expect.equal after["offset1.c"].Data [| 2.5f; 2.5f; 2.5f |] "not changed by gradient descent"
            Expect.notEqual after["dense1.w"].Data p.Initial["dense1.w"].Data "while the parameters are"
        }

        test "the embedding API lists adapted states and a checkpoint round trip keeps them" {
            let source = "network t (x: [n, 3]) : [n, 1] =\n    x |> standardize |> dense 1" + trainBlock
            let m = EmbeddingTests.model source
            let states =
                m.Parameters
                |> Seq.filter (fun p -> p.IsState)
                |> Seq.map (fun p -> p.Path, p.Shape.Sizes)
                |> List.ofSeq
            Expect.equal
                states
                [ "standardize1.std", [| 1; 3 |]; "standardize1.mean", [| 1; 3 |] ]
                "states in declaration order"
            let x = Array2D.init rows.Length 3 (fun r j -> rows[r][j])
            let y = Array2D.init rows.Length 1 (fun r _ -> float32 r)
            let trainer = m.CreateTrainer()
            trainer.Fit(x, y) |> ignore
            let mean, _ = stats (rows |> Array.map (Array.map float))
            close 1e-6 (trainer.GetParameter("standardize1.mean").ToArray() |> Array.map float) mean "adapted by Fit"
            let path = EmbeddingTests.tempFile ()
            try
                trainer.Save path
                let session = m.LoadSession path
                Expect.equal
                    (session.GetParameter("standardize1.std").ToArray())
                    (trainer.GetParameter("standardize1.std").ToArray())
                    "std restored"
                Expect.equal
                    (session.GetParameter("standardize1.mean").ToArray())
                    (trainer.GetParameter("standardize1.mean").ToArray())
                    "mean restored"
                Expect.equal (session.Predict x) (trainer.Predict x) "identical predictions"
            finally File.Delete path
        }

        test "nn check reports state errors before reading data (the data file does not exist)" {
            let text =
                "network t (x: [n, 4]) : [n, 4] =\n    state s = x * 2.0\n    x + s\n\n"
                + "train t {\n    data = csv \"no-such.csv\" { features = [0; 1; 2; 3]; label = \"y\" }\n"
                + "    loss = mse\n}\n"
            match Compile.compileText (Path.Combine(repoRoot, "examples", "test.nn")) text with
            | Ok _ -> failtest "expected NN0215"
            | Error ds ->
                Expect.equal (ds |> List.map (fun d -> d.Code)) [ "NN0215" ] "the state error, not a data error"
        }

        test "the prelude's tower and sequential name their layers by the call path" {
            let c =
                compile (
                    "network t (x: [n, 4]) : [n, 2] =\n"
                    + "    x |> tower relu [8; 6] |> sequential [dense 3; tanh; dense 2]"
                )
            let net = c.Networks.Head
            let fwd = Compile.forward net (GraphBuilder()) false
            let names =
                fwd.Context.Builder.Nodes
                |> Seq.filter (fun n -> n.Op = OpKind.Param)
                |> Seq.map (fun n -> n.Name, string n.Shape)
                |> List.ofSeq
            Expect.equal names
                [ "tower1.dense1.w", "[4, 8]"; "tower1.dense1.b", "[8]"
                  "tower1.dense2.w", "[8, 6]"; "tower1.dense2.b", "[6]"
                  "sequential1.dense1.w", "[6, 3]"; "sequential1.dense1.b", "[3]"
                  "sequential1.dense2.w", "[3, 2]"; "sequential1.dense2.b", "[2]" ]
                "paths and shapes"
            let calls = fwd.Context.Calls |> Seq.map fst |> Seq.distinct |> List.ofSeq
            Expect.equal
                calls
                [ "tower1.dense1"; "tower1.dense2"; "tower1"
                  "sequential1.dense1"; "sequential1.dense2"; "sequential1" ]
                "the summary's layer calls"
            Expect.equal (string fwd.Output.Shape) "[n, 2]" "output"
        }

        test "repeat 0 is the identity and repeat k applies k times" {
            let c =
                compile "network t (x: [n, 4]) : [n, 4] =\n    x |> repeat 0 (dense 4) |> repeat 3 (dense 4 >> relu)"
            let fwd = Compile.forward c.Networks.Head (GraphBuilder()) false
            let names =
                fwd.Context.Builder.Nodes
                |> Seq.filter (fun n -> n.Op = OpKind.Param)
                |> Seq.map (fun n -> n.Name)
                |> List.ofSeq
            Expect.equal
                names
                [ for k in 1..3 do yield! [ sprintf "repeat2.dense%d.w" k; sprintf "repeat2.dense%d.b" k ] ]
                "the second repeat's three layers"
        }
    ]
