module Nn.Tests.Compiler.TrainPlanTests

open System
open System.IO
open Expecto
open Nn.Runtime.Training
open Nn.Runtime.Execution
open Nn.Compiler
open Nn.Tests.TestUtil

let private examples = Path.Combine(repoRoot, "examples")

/// Compile an example, plan its first train block with `--set`-style overrides, train with the reference executor.
let internal train (file: string) (overrides: (string * string) list) =
    match Compile.compileFile (Path.Combine(examples, file)) with
    | Result.Error ds -> failtestf "%A" (ds |> List.map (fun d -> d.Message))
    | Result.Ok c ->
        let td, env = c.Trains.Head
        let sets =
            overrides |> List.map (fun (k, v) ->
                match Nn.Dsl.Parser.parseExpr "--set" v with
                | Result.Ok e -> k, e
                | Result.Error _ -> failtest "bad override")
        let plan = TrainPlan.create c (TrainPlan.withOverrides td sets, env)
        let exec = ReferenceExecutor(plan.Graphs, plan.Initial)
        let result =
            Trainer.Fit(
                plan.Graphs,
                exec,
                plan.Train,
                Option.toObj plan.Validation,
                TrainPlan.options plan.Config null null
            )
        plan, exec, result

[<Tests>]
let tests =
    testList "Compiler.TrainPlan" [
        test "the step built ahead from the IDX headers is the plan's, from the same initial values" {
            // mnist_mlp.nn at batch 96: 8,000 training rows after the 20% held out, 8,000 % 96 = 32 in the last batch
            match Compile.compileFile (Path.Combine(examples, "mnist_mlp.nn")) with
            | Result.Error ds -> failtestf "%A" (ds |> List.map (fun d -> d.Message))
            | Result.Ok c ->
                let td, env = c.Trains.Head
                let sets = [ "batch", (match Nn.Dsl.Parser.parseExpr "--set" "96" with
                                       | Result.Ok e -> e
                                       | Result.Error _ -> failtest "bad override") ]
                let block = TrainPlan.withOverrides td sets, env
                let ahead = TrainPlan.ahead true None c block (fun _ _ batches shapes -> batches, shapes)
                Expect.isSome ahead "an IDX images file with labels"
                Expect.isNone (TrainPlan.ahead false None c block (fun _ _ _ _ -> ())) "not from the initializers"
                let reads = ref 0 // `nn train` starts its plotting warm-up there
                let read () = reads.Value <- reads.Value + 1
                let plan = TrainPlan.createAhead TrainPlan.FromBlockInit None None c block None ahead read
                Expect.equal reads.Value 1 "told once that the data is read"
                let alone = TrainPlan.createFrom TrainPlan.FromBlockInit None None c block None
                match TrainPlan.fits plan ahead with
                | None -> failtest "the work ahead fits the plan"
                | Some((batches, (row, target)), same) ->
                    Expect.isTrue same "the plan starts from the values it was built with"
                    Expect.equal batches (96, 32) "a full and the last partial batch"
                    Expect.equal (row, target) ([| 28; 28 |], [||]) "rows of 28x28 images, class numbers"
                let text (g: Nn.Runtime.IR.Graph) = Nn.Runtime.IR.GraphPrinter.Text g
                Expect.equal (text plan.Graphs.Train) (text alone.Graphs.Train) "the training step"
                Expect.equal (text plan.Graphs.Predict) (text alone.Graphs.Predict) "the prediction"
                Expect.equal (Set.ofSeq plan.Initial.Keys) (Set.ofSeq alone.Initial.Keys) "the same values"
                for KeyValue(name, t) in alone.Initial do
                    Expect.equal plan.Initial[name].Data t.Data $"`{name}` drawn the same"
        }
        test "xor.nn trains to loss < 0.05 with every row on the right side of 0.5" {
            let plan, exec, result = train "xor.nn" []
            let last = result.History[result.History.Count - 1]
            Expect.isLessThan last.TrainLoss 0.05 "final loss"
            let predictions = exec.Predict(plan.Train.Features)
            for i in 0..3 do
                let target = plan.Train.Targets.Data[i]
                let p = predictions.Data[i]
                Expect.equal (p > 0.5f) (target > 0.5f) (sprintf "row %d: prediction %f, target %f" i p target)
        }

        test "iris.nn reaches at least 95% validation accuracy" {
            let _, _, result = train "iris.nn" []
            let last = result.History[result.History.Count - 1]
            Expect.isGreaterThanOrEqual last.ValidationMetrics["accuracy"] 0.95 "validation accuracy"
        }

        test "the same seed gives bit-identical weights" {
            let _, a, _ = train "xor.nn" [ "epochs", "20" ]
            let _, b, _ = train "xor.nn" [ "epochs", "20" ]
            let sa, sb = a.Snapshot(), b.Snapshot()
            for KeyValue(name, t) in sa do
                Expect.sequenceEqual t.Data sb[name].Data name
        }

        test "overrides replace train fields" {
            let plan, _, result = train "xor.nn" [ "epochs", "3"; "batch", "2" ]
            Expect.equal plan.Config.Batch 2 "batch"
            Expect.equal result.History.Count 3 "epochs"
        }

        test "reduceOnPlateau's monitor reaches the trainer's schedule" {
            let plan, _, _ =
                train
                    "xor.nn"
                    [ "epochs", "1"
                      "metrics", "[accuracy]"
                      "schedule", "reduceOnPlateau { monitor = accuracy; patience = 2 }" ]
            let spec = (TrainPlan.options plan.Config null null).Schedule
            Expect.equal
                (spec.Kind.Name, spec.Monitor.Name, spec.Patience)
                ("reduceOnPlateau", "accuracy", 2)
                "schedule spec"
            let plan, _, _ = train "xor.nn" [ "epochs", "1"; "schedule", "reduceOnPlateau" ]
            Expect.equal (TrainPlan.options plan.Config null null).Schedule.Monitor.Name "validationLoss" "the default"
        }
        test "reduceOnPlateau takes a `min` rate (default 0) that reaches the trainer's schedule" {
            let plan, _, result =
                train
                    "xor.nn"
                    [ "epochs", "6"; "schedule", "reduceOnPlateau { patience = 0; monitor = loss; min = 0.2 }" ]
            Expect.equal (TrainPlan.options plan.Config null null).Schedule.Min 0.2 "min"
            Expect.isGreaterThanOrEqual
                (result.History |> Seq.map (fun r -> r.LearningRate) |> Seq.min)
                0.2
                "never below min"
            let plan, _, _ = train "xor.nn" [ "epochs", "1"; "schedule", "reduceOnPlateau" ]
            Expect.equal (TrainPlan.options plan.Config null null).Schedule.Min 0.0 "the default"
        }
        test "classWeights and nadam in a train block reach the step graphs" {
            let plan, _, result =
                train "iris.nn" [ "epochs", "2"; "classWeights", "[1.0; 2.0; 0.5]"; "optimizer", "nadam" ]
            Expect.equal (List.ofSeq plan.Graphs.Spec.ClassWeights) [ 1.0; 2.0; 0.5 ] "class weights"
            Expect.equal plan.Graphs.Spec.Optimizer.Kind OptimizerKind.Nadam "optimizer"
            Expect.equal plan.Graphs.Spec.Optimizer.EffectiveLr 2e-3 "PyTorch's default lr"
            let products = [ for s in plan.Graphs.States do if s.Name.EndsWith ".muProduct" then yield s ]
            Expect.equal products.Length plan.Graphs.Params.Count "a mu product per parameter"
            Expect.isTrue (products |> List.forall (fun s -> s.Shape.Rank = 0)) "scalars"
            Expect.isTrue (result.History |> Seq.forall (fun r -> Double.IsFinite r.TrainLoss)) "finite losses"
        }
        test "equal class weights leave the validation loss as it is" {
            let validationLoss sets =
                let _, _, result = train "iris.nn" ([ "epochs", "2" ] @ sets)
                result.History[result.History.Count - 1].ValidationLoss.Value
            let plain = validationLoss []
            Expect.floatClose Accuracy.high (validationLoss [ "classWeights", "[2.0; 2.0; 2.0]" ]) plain "same loss"
            Expect.notEqual (validationLoss [ "classWeights", "[1.0; 5.0; 0.2]" ]) plain "other weights differ"
        }
    ]
