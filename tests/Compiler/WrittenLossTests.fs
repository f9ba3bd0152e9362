/// Losses written in the language (issue #19.1): each built-in written out as docs/language.md shows it trains to the
/// built-in's losses; a written loss's gradients against float64 finite differences and its value against a formula
/// written here; the fused engine against the reference interpreter; `eval` and the training loss use the function.
module Nn.Tests.Compiler.WrittenLossTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Autodiff
open Nn.Runtime.Execution
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Tests.TestUtil

let private file = Path.Combine(repoRoot, "examples", "test.nn")

/// The built-in losses written out in docs/language.md (the block after "Each built-in loss, written as such").
let private writtenOut =
    let doc = File.ReadAllText(Path.Combine(repoRoot, "docs", "language.md"))
    let start = doc.IndexOf("```fsharp", doc.IndexOf "Each built-in loss, written as such a function") + 9
    doc.Substring(start, doc.IndexOf("```", start) - start)

let private compiled (text: string) =
    match Compile.compileText file text with
    | Ok c -> c
    | Error ds -> failtestf "did not compile: %A" (ds |> List.map (fun d -> d.Code + " " + d.Message))

/// A plan of the program's first train block.
let private plan (text: string) = let c = compiled text in TrainPlan.create c c.Trains.Head

let private executor (engine: string) (p: TrainPlan.Plan) =
    Nn.Runtime.Executors.StepExecutor.Create(p.Graphs, p.Initial, ExecutorOptions(Engine = engine))

/// Train the first block on an engine: (training loss, validation loss) per epoch.
let private losses (engine: string) (text: string) =
    let p = plan text
    let options = TrainPlan.options p.Config null null
    let r = Trainer.Fit(p.Graphs, executor engine p, p.Train, Option.toObj p.Validation, options)
    [ for h in r.History -> h.TrainLoss, (if h.ValidationLoss.HasValue then h.ValidationLoss.Value else nan) ]

let private regression loss =
    "network curve (x: [n, 1]) : [n, 1] =\n    x |> dense 8 |> tanh |> dense 1\n\ntrain curve {\n"
    + "    data = generate 200 (fun x -> sin (3.0 * x) + 0.5 * x) { low = -2.0; high = 2.0; noise = 0.05 }\n"
    + sprintf "    validation = 0.25\n    loss = %s\n    optimizer = adam { lr = 1e-2 }\n    epochs = 3\n}\n" loss

let private xor loss =
    "network xor (x: [n, 2]) : [n, 1] =\n    x |> dense 8 |> tanh |> dense 1 |> sigmoid\n\ntrain xor {\n"
    + "    data = rows [ [0; 0], [0]\n                  [0; 1], [1]\n                  [1; 0], [1]\n"
    + "                  [1; 1], [0] ]\n"
    + sprintf "    loss = %s\n    optimizer = sgd { lr = 0.5; momentum = 0.9 }\n    batch = 4\n    epochs = 3\n}\n" loss

let private iris (last: string) loss =
    sprintf "network iris (x: [n, 4]) : [n, 3] =\n    x |> standardize |> dense 16 |> tanh |> dense 3%s\n\n" last
    + "train iris {\n    data = csv \"data/iris.csv\" { features = [0; 1; 2; 3]; label = \"species\" }\n"
    + "    shuffle = true\n    validation = 0.3\n"
    + sprintf "    loss = %s\n    optimizer = adam { lr = 0.01 }\n" loss
    + "    batch = 16\n    epochs = 3\n    seed = 7\n}\n"

/// Two losses of float32 training that should be equal but for rounding: the written form rounds other operations
/// (log p against the built-in's logits, its own summation order), ~1e-7 relative per op, which three epochs of
/// training carry into the weights; 1e-4 relative is loose by two orders for that and far below any real difference.
let private sameLoss (what: string) (written: float) (builtin: float) =
    if not (abs (written - builtin) <= 1e-4 * abs builtin + 1e-7) then
        failtestf "%s: the written loss gives %.9g, the built-in %.9g" what written builtin

let private writtenTrainsLikeBuiltin name (program: string -> string) =
    test (sprintf "`%s` written out as in the docs trains to the built-in's losses (3 epochs)" name) {
        let written = writtenOut + "\n" + program name
        Expect.equal (plan written).Config.Loss.Target LossTarget.AsGiven "the program's function is the loss"
        Expect.equal (plan (program name)).Config.Loss.Name name "the built-in"
        let a, b = losses "fused" written, losses "fused" (program name)
        Expect.equal a.Length 3 "epochs"
        for i, ((ta, va), (tb, vb)) in List.indexed (List.zip a b) do
            sameLoss (sprintf "epoch %d, training" (i + 1)) ta tb
            if not (Double.IsNaN vb) then sameLoss (sprintf "epoch %d, validation" (i + 1)) va vb
    }

/// A smooth loss of one value per row, log cosh (Keras' `log_cosh`), written in the language, and the same formula
/// written here.
let private logCosh = "let logCosh p t = mean 1 (log ((exp (p - t) + exp (t - p)) * 0.5))\n"
let private logCoshHere (p: float[]) (t: float[]) (rows: int) =
    let k = p.Length / rows
    [ for r in 0 .. rows - 1 ->
          [ for j in 0 .. k - 1 -> log (cosh (p[r * k + j] - t[r * k + j])) ] |> List.average ]
    |> List.average

let private smallNet =
    logCosh + "network net (x: [n, 3]) : [n, 2] =\n    x |> dense 4 |> tanh |> dense 2\n\n"
    + "train net {\n    data = rows [ [0; 1; 2], [0; 1] ]\n    loss = logCosh\n}\n"

[<Tests>]
let tests =
    testList "Compiler.WrittenLoss" [
        writtenTrainsLikeBuiltin "mse" regression
        writtenTrainsLikeBuiltin "mae" regression
        writtenTrainsLikeBuiltin "huber" regression
        writtenTrainsLikeBuiltin "binaryCrossEntropy" xor
        writtenTrainsLikeBuiltin "softmaxCrossEntropy" (iris "")
        writtenTrainsLikeBuiltin "crossEntropy" (iris " |> softmax")

        test "a written loss of one value per row: its value is the formula's mean, its gradients finite differences" {
            let c = compiled smallNet
            let cfg = TrainPlan.config c c.Trains.Head
            let b = GraphBuilder()
            let fwd = Compile.forward c.Networks.Head b true
            let target = b.Input("t", fwd.Output.Shape, SourceSpan.None)
            let loss = cfg.Loss.Build(b, fwd.Output, target, SourceSpan.None)
            Expect.equal loss.Shape Shape.Scalar "averaged over the rows"
            let ps = b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Array.ofSeq
            let grads = Backward.Gradients(b, loss, ps)
            let outs =
                [ KeyValuePair("loss", loss); KeyValuePair("y", fwd.Output) ]
                @ [ for p, g in Array.zip ps grads -> KeyValuePair("d:" + p.Name, g) ]
            let g = b.Build outs
            let rng = Random 5
            let rand (shape: int[]) =
                Tensor<float>(shape, Array.init (Array.reduce (*) shape) (fun _ -> rng.NextDouble() * 2.0 - 1.0))
            let rows = 5
            let x, t = rand [| rows; 3 |], rand [| rows; 2 |]
            let values = ps |> Array.map (fun p -> p.Name, rand (p.Shape.ToArray() |> Array.map (fun d -> d.Size)))
            let run (vals: (string * Tensor<float>) seq) =
                let feeds = Dictionary<string, Tensor<float>>()
                feeds["x"] <- x
                feeds["t"] <- t
                for n, v in vals do feeds[n] <- v
                ReferenceInterpreter<float>.Run(g, feeds)
            let out = run values
            let expected = logCoshHere out["y"].Data t.Data rows
            Expect.floatClose { absolute = 1e-12; relative = 1e-12 } out["loss"].Data[0] expected "log cosh by hand"
            // ⟨∇L, v⟩ against central differences along a random direction v, in float64
            let dirs =
                values |> Array.map (fun (n, v) -> n, Array.init v.Data.Length (fun _ -> rng.NextDouble() - 0.5))
            let at (s: float) =
                (run [ for (n, v), (_, d) in Array.zip values dirs ->
                         n, Tensor<float>(v.Shape, Array.map2 (fun a b -> a + s * b) v.Data d) ]).["loss"].Data[0]
            let h = 1e-5
            let numeric = (at h - at -h) / (2.0 * h)
            let dot (a: float[]) (b: float[]) = Array.fold2 (fun acc x y -> acc + x * y) 0.0 a b
            let analytic = dirs |> Array.sumBy (fun (n, d) -> dot out["d:" + n].Data d)
            Expect.floatClose { absolute = 1e-8; relative = 1e-6 } analytic numeric "directional derivative"
        }

        test "the fused engine and the reference interpreter train a written loss to the same losses" {
            let program = writtenOut + "\n" + iris "" "softmaxCrossEntropy"
            let both = List.zip (losses "fused" program) (losses "reference" program)
            for i, ((tf, vf), (tr, vr)) in List.indexed both do
                sameLoss (sprintf "epoch %d, training" (i + 1)) tf tr
                sameLoss (sprintf "epoch %d, validation" (i + 1)) vf vr
        }

        test "eval and the training step use the function: the loss of the validation rows is its formula's" {
            let program = "let mape p t = meanAll (abs (p - t) / t)\n\n" + regression "mape"
            let program = program.Replace("sin (3.0 * x) + 0.5 * x", "3.0 + x")
            let p = plan program
            let exec = executor "fused" p
            Trainer.Fit(p.Graphs, exec, p.Train, Option.toObj p.Validation, TrainPlan.options p.Config null null)
            |> ignore
            let v = p.Validation.Value
            let predicted = exec.Predict(v.Features).Data
            let mape =
                Array.map2 (fun (a: float32) (b: float32) -> abs (float a - float b) / float b) predicted v.Targets.Data
            let evaluated = exec.Evaluate(v.Features, v.Targets).Loss
            Expect.floatClose { absolute = 1e-7; relative = 1e-5 } evaluated (Array.average mape) "mean |p - t| / t"
        }

        test "oneHot k t: class indices [n] and [n, 1] to rows of k, an index outside 0..k-1 to zeros" {
            for shape in [ "[n]"; "[n, 1]" ] do
                let c = compiled (sprintf "network net (t: %s) : [n, 3] =\n    oneHot 3 t\n" shape)
                let b = GraphBuilder()
                let fwd = Compile.forward c.Networks.Head b false
                let g = b.Build [ KeyValuePair("y", fwd.Output) ]
                let dims = if shape = "[n]" then [| 4 |] else [| 4; 1 |]
                let feeds = Dictionary<string, Tensor<float>>()
                feeds["t"] <- Tensor<float>(dims, [| 2.0; 0.0; 5.0; 1.0 |])
                let y = (ReferenceInterpreter<float>.Run(g, feeds)).["y"]
                Expect.equal y.Shape [| 4; 3 |] shape
                Expect.equal y.Data [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0; 0.0; 0.0; 0.0; 1.0; 0.0 |] shape
            match Compile.compileText file "network net (t: [n]) =\n    oneHot 0 t\n" with
            | Ok _ -> failtest "oneHot 0 compiled"
            | Error ds ->
                Expect.equal (ds |> List.map (fun d -> d.Code, d.Message))
                    [ "NN0306", "`oneHot` needs a number of classes of at least 1, got 0" ] "no classes"
        }

        test "a program's function named like a built-in loss is the loss (`let mse p t = 2 mse` gives twice mse)" {
            let builtin = plan (regression "mse")
            let doubled = plan ("let mse p t = 2.0 * meanAll (square (p - t))\n\n" + regression "mse")
            Expect.equal doubled.Config.Loss.Target LossTarget.AsGiven "the program's"
            let v = builtin.Validation.Value
            let a = (executor "reference" doubled).Evaluate(v.Features, v.Targets).Loss
            let b = (executor "reference" builtin).Evaluate(v.Features, v.Targets).Loss
            Expect.floatClose { absolute = 1e-9; relative = 1e-6 } a (2.0 * b) "twice the built-in"
        }
    ]
