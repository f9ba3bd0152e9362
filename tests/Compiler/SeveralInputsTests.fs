/// Networks with several inputs (issue #19.3): two inputs fed by CSV column lists train exactly as one input fed the
/// same columns side by side (the oracle: a network the code already trained); gradients of a two-input network
/// against float64 finite differences; npy file lists; the embedding API's Fit/Predict with one array per input; and
/// every new error with its message.
module Nn.Tests.Compiler.SeveralInputsTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Data
open Nn.Runtime.Autodiff
open Nn.Runtime.Execution
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Tests.TestUtil

let private file = Path.Combine(repoRoot, "examples", "test.nn")

let private compiled (text: string) =
    match Compile.compileText file text with
    | Ok c -> c
    | Error ds -> failtestf "did not compile: %A" (ds |> List.map (fun d -> d.Code + " " + d.Message))

let private plan (text: string) = let c = compiled text in TrainPlan.create c c.Trains.Head

/// The diagnostic compiling the program (the static checks of `nn check`) or planning its first block raises.
let private planError (text: string) =
    match Compile.compileText file text with
    | Error ds -> ds.Head
    | Ok c ->
        try
            TrainPlan.create c c.Trains.Head |> ignore
            failtest "expected a diagnostic"
        with Nn.Dsl.DiagnosticException d -> d

/// Train the first block: (training loss, validation loss) per epoch, and the trained values.
let private train (engine: string) (text: string) =
    let p = plan text
    let exec = Nn.Runtime.Executors.StepExecutor.Create(p.Graphs, p.Initial, ExecutorOptions(Engine = engine))
    let r = Trainer.Fit(p.Graphs, exec, p.Train, Option.toObj p.Validation, TrainPlan.options p.Config null null)
    [ for h in r.History -> h.TrainLoss, h.ValidationLoss.Value ], exec.Snapshot()

let private body = "dense 16 |> tanh |> dense 3"
let private block (net: string) (features: string) =
    sprintf "train %s {\n    data = csv \"data/iris.csv\" { features = %s; label = \"species\" }\n" net features
    + "    shuffle = true\n    validation = 0.3\n    loss = softmaxCrossEntropy\n    metrics = [accuracy]\n"
    + "    optimizer = adam { lr = 0.01 }\n    batch = 16\n    epochs = 3\n    seed = 7\n}\n"

/// The iris flowers as two inputs (sepal, petal) joined by `concat`, and as one input of the four columns.
let private twoInputs =
    sprintf "network two (sepal: [n, 2]) (petal: [n, 2]) : [n, 3] =\n    concat 1 [sepal; petal] |> %s\n\n" body
    + block "two" "[[\"sepal_length\"; \"sepal_width\"]; [\"petal_length\"; \"petal_width\"]]"
let private oneInput =
    sprintf "network one (x: [n, 4]) : [n, 3] =\n    x |> %s\n\n" body
    + block "one" "[\"sepal_length\"; \"sepal_width\"; \"petal_length\"; \"petal_width\"]"

/// Writes arrays as .npy files in a fresh folder; their paths.
let private npyFiles (arrays: (string * HostTensor) list) =
    let dir = Path.Combine(Path.GetTempPath(), "nn-inputs-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore
    [ for name, t in arrays ->
          let path = Path.Combine(dir, name)
          Npy.Write(path, t)
          path.Replace("\\", "/") ]

let private matrix (rows: float32[][]) = HostTensor([| rows.Length; rows[0].Length |], Array.concat rows)

let private nnError (f: unit -> 'a) =
    try
        f () |> ignore
        failtest "expected an NnException"
    with :? NnException as e -> e

let private sameAsOneInput engine =
            test (sprintf "two inputs from CSV lists train as one input of the same columns side by side (%s)" engine) {
                let p = plan twoInputs
                Expect.equal p.Train.Inputs.Count 2 "one tensor per input"
                Expect.equal p.Train.Inputs[0].Shape [| 105; 2 |] "sepal: 70% of 150 rows, 2 columns"
                Expect.equal p.Train.Inputs[1].Shape [| 105; 2 |] "petal"
                // the same rows, shuffled together: input 0 and 1 are the halves of the one-input network's rows
                let q = plan oneInput
                for r in 0 .. p.Train.Count - 1 do
                    Expect.sequenceEqual
                        (Array.append (p.Train.Inputs[0].Row(r).ToArray()) (p.Train.Inputs[1].Row(r).ToArray()))
                        (q.Train.Features.Row(r).ToArray()) (sprintf "row %d" r)
                let (a, wa), (b, wb) = train engine twoInputs, train engine oneInput
                Expect.equal a.Length 3 "epochs"
                // the same parameters (names, shapes, seed) and the same numbers: concat then the product equals the
                // product of the side-by-side rows, so the losses agree but for the products' rounding
                for i, ((ta, va), (tb, vb)) in List.indexed (List.zip a b) do
                    Expect.floatClose { absolute = 1e-6; relative = 1e-5 } ta tb (sprintf "epoch %d training" i)
                    Expect.floatClose { absolute = 1e-6; relative = 1e-5 } va vb (sprintf "epoch %d validation" i)
                for KeyValue(name, v) in wb do
                    Array.iter2 (fun (x: float32) (y: float32) ->
                        Expect.floatClose { absolute = 1e-5; relative = 1e-4 } (float x) (float y) name)
                        wa[name].Data v.Data
            }

[<Tests>]
let tests =
    testList "Compiler.SeveralInputs" [
        sameAsOneInput "fused"
        sameAsOneInput "reference"

        test "gradients of a two-input network agree with float64 finite differences" {
            let text =
                "network two (a: [n, 2]) (b: [n, 3]) : [n, 2] =\n"
                + "    let h = (a |> dense 4 |> tanh) + (b |> dense 4 |> sigmoid)\n    h |> dense 2\n"
            let c = compiled text
            let bld = GraphBuilder()
            let fwd = Compile.forward c.Networks.Head bld true
            Expect.equal (fwd.Inputs |> List.map fst) [ "a"; "b" ] "inputs in declaration order"
            let target = bld.Input("t", fwd.Output.Shape, SourceSpan.None)
            let loss = LossKind.Mse.Build(bld, fwd.Output, target, SourceSpan.None)
            let ps = bld.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Array.ofSeq
            let grads = Backward.Gradients(bld, loss, ps)
            let g =
                bld.Build(
                    KeyValuePair("loss", loss) :: [ for p, d in Array.zip ps grads -> KeyValuePair("d:" + p.Name, d) ])
            let rng = Random 11
            let rand (shape: int[]) =
                Tensor<float>(shape, Array.init (Array.reduce (*) shape) (fun _ -> rng.NextDouble() * 2.0 - 1.0))
            let rows = 5
            let a, b, t = rand [| rows; 2 |], rand [| rows; 3 |], rand [| rows; 2 |]
            let values = ps |> Array.map (fun p -> p.Name, rand (p.Shape.ToArray() |> Array.map (fun d -> d.Size)))
            let run (vals: (string * Tensor<float>) seq) =
                let feeds = Dictionary<string, Tensor<float>>()
                feeds["a"] <- a
                feeds["b"] <- b
                feeds["t"] <- t
                for n, v in vals do feeds[n] <- v
                ReferenceInterpreter<float>.Run(g, feeds)
            let out = run values
            let dirs = values |> Array.map (fun (n, v) -> n, Array.init v.Data.Length (fun _ -> rng.NextDouble() - 0.5))
            let at (s: float) =
                (run [ for (n, v), (_, d) in Array.zip values dirs ->
                         n, Tensor<float>(v.Shape, Array.map2 (fun x y -> x + s * y) v.Data d) ]).["loss"].Data[0]
            let h = 1e-5
            let numeric = (at h - at -h) / (2.0 * h)
            let dot (x: float[]) (y: float[]) = Array.fold2 (fun acc p q -> acc + p * q) 0.0 x y
            let analytic = dirs |> Array.sumBy (fun (n, d) -> dot out["d:" + n].Data d)
            Expect.floatClose { absolute = 1e-8; relative = 1e-6 } analytic numeric "directional derivative"
            // both branches have gradients (the second input is not dropped)
            for p in ps do
                Expect.isTrue (out["d:" + p.Name].Data |> Array.exists (fun v -> v <> 0.0)) (p.Name + " has a gradient")
        }

        test "npy lists: one file per input, read in order, rows shuffled together" {
            let xa = matrix [| for i in 0 .. 5 -> [| float32 i; float32 (10 * i) |] |]
            let xb = matrix [| for i in 0 .. 5 -> [| float32 (-i) |] |]
            let y = matrix [| for i in 0 .. 5 -> [| float32 (100 * i) |] |]
            match npyFiles [ "a.npy", xa; "b.npy", xb; "y.npy", y ] with
            | [ fa; fb; fy ] ->
                let text =
                    "network two (a: [n, 2]) (b: [n, 1]) : [n, 1] =\n    concat 1 [a; b] |> dense 1\n\n"
                    + sprintf "train two {\n    data = npy [\"%s\"; \"%s\"] \"%s\"\n    loss = mse\n" fa fb fy
                    + "    shuffle = true\n    seed = 3\n}\n"
                let p = plan text
                Expect.equal p.Train.Inputs.Count 2 "two inputs"
                for r in 0 .. 5 do
                    let i = int (p.Train.Targets.Row(r)[0]) / 100
                    Expect.sequenceEqual (p.Train.Inputs[0].Row(r).ToArray()) [| float32 i; float32 (10 * i) |] "a"
                    Expect.sequenceEqual (p.Train.Inputs[1].Row(r).ToArray()) [| float32 (-i) |] "b, same row"
                let shorter = npyFiles [ "b.npy", matrix [| [| 1f |] |] ] |> List.head
                let d = planError (text.Replace(fb, shorter))
                Expect.equal d.Code "NN0570" "row counts differ"
                Expect.equal d.Message
                    "b.npy holds 1 row but a.npy holds 6; the features of every input need the same number of rows \
                     (their first axis)" "message"
                let line = (text.Replace(fb, shorter)).Split('\n')[4]
                Expect.equal (d.Span.Line, d.Span.Column) (5, line.IndexOf("\"" + shorter) + 1) "at the second file"
            | _ -> failtest "three files"
        }

        test "NN0440 the number of CSV lists or npy files differs from the inputs (found before any data)" {
            let net = "network two (a: [n, 2]) (b: [n, 2]) : [n, 3] =\n    concat 1 [a; b] |> dense 3\n\n"
            let d = planError (net + block "two" "[[\"sepal_length\"; \"sepal_width\"]]")
            Expect.equal d.Code "NN0440" "code"
            Expect.equal d.Message
                "`features` gives 1 list of columns, but `two` takes 2 inputs: one list per input, in order" "csv"
            Expect.equal (d.Span.Line, d.Span.Column) (5, 46) "at the one list"
            let three = "[[\"sepal_length\"]; [\"sepal_width\"]; [\"petal_width\"]]"
            Expect.equal (planError (net + block "two" three)).Message
                "`features` gives 3 lists of columns, but `two` takes 2 inputs: one list per input, in order" "three"
            let npy =
                net + "train two {\n    data = npy [\"a.npy\"; \"b.npy\"; \"c.npy\"] \"y.npy\"\n    loss = mse\n}\n"
            Expect.equal (planError npy).Message
                "`npy` is given 3 features files, but `two` takes 2 inputs: one file per input, in order" "npy"
            let one = "network one (x: [n, 2]) : [n, 1] =\n    x |> dense 1\n\n"
                      + "train one {\n    data = npy [\"a.npy\"; \"b.npy\"] \"y.npy\"\n    loss = mse\n}\n"
            Expect.equal (planError one).Code "NN0440" "two files for one input"
        }

        test "NN0441 a CSV list's width differs from its input's declared width" {
            let net = "network two (a: [n, 2]) (b: [n, 2]) : [n, 3] =\n    concat 1 [a; b] |> dense 3\n\n"
            let d = planError (net + block "two" "[[\"sepal_length\"]; [\"petal_length\"; \"petal_width\"]]")
            Expect.equal d.Code "NN0441" "code"
            Expect.equal d.Message "this list has 1 column, so it gives `a` rows of 1 numbers, but `a` is [n, 2]" "msg"
            Expect.equal d.Notes.Head.Message "`two` takes 2 inputs (`a`, `b`)" "a note at the network"
        }

        test "NN0442 a source of one input (idx, rows, generate, CSV without lists) for several inputs" {
            let net = "network two (a: [n, 1]) (b: [n, 1]) : [n, 1] =\n    concat 1 [a; b] |> dense 1\n\n"
            let source data = net + sprintf "train two {\n    data = %s\n    loss = mse\n}\n" data
            for data in [ "idx \"x.idx\" \"y.idx\""; "rows [ [0], [1] ]"; "generate 10 (fun x -> x) { low = 0.0 }"
                          "csv \"data/iris.csv\" { label = \"species\" }" ] do
                Expect.equal (planError (source data)).Code "NN0442" data
        }

        test "the embedding API: Fit and Predict take one array per input, as one input of the columns side by side" {
            let net2 =
                "network two (a: [n, 2]) (b: [n, 1]) : [n, 1] =\n    concat 1 [a; b] |> dense 4 |> tanh |> dense 1\n"
            let net1 = "network one (x: [n, 3]) : [n, 1] =\n    x |> dense 4 |> tanh |> dense 1\n"
            let block name = sprintf "\ntrain %s {\n    loss = mse\n    optimizer = adam { lr = 0.05 }\n" name
                             + "    batch = 4\n    epochs = 20\n    seed = 5\n}\n"
            let rows = 12
            let a = Array2D.init rows 2 (fun i j -> float32 (sin (float (i * 2 + j))))
            let b = Array2D.init rows 1 (fun i _ -> float32 (cos (float i)))
            let y = Array2D.init rows 1 (fun i _ -> a[i, 0] * b[i, 0] + a[i, 1])
            let x = Array2D.init rows 3 (fun i j -> if j < 2 then a[i, j] else b[i, 0])
            let model text = (NnModel.Compile(text, "test.nn")).Model
            let two = (model (net2 + block "two")).CreateTrainer()
            let one = (model (net1 + block "one")).CreateTrainer()
            let r2, r1 = two.Fit([| a; b |], y), one.Fit(x, y)
            Expect.floatClose { absolute = 1e-6; relative = 1e-5 } r2.FinalLoss r1.FinalLoss "the same training"
            let p2, p1 = two.Predict([| a; b |]), one.Predict x
            for i in 0 .. rows - 1 do
                Expect.floatClose { absolute = 1e-5; relative = 1e-4 } (float p2[i, 0]) (float p1[i, 0]) "predictions"
            let e = nnError (fun () -> two.Predict a)
            Expect.equal e.Code "NN0571" "one array for two inputs"
            Expect.stringContains e.Message
                "1 features array was given, but the network `two` takes 2 inputs (`a`, `b`): one array per input" "msg"
            let e = nnError (fun () -> two.Fit([| a; a |], y))
            Expect.equal e.Code "NN0572" "the second array is too wide"
            Expect.stringContains e.Message
                "the features of the input `b` have the shape [12, 2] (rows of [2]), but the network `two` takes \
                 [n, 1] (rows of [1])" "msg"
            let e = nnError (fun () -> two.Predict([| a; Array2D.init 3 1 (fun _ _ -> 0f) |]))
            Expect.equal e.Code "NN0570" "rows differ"
            Expect.stringContains e.Message "the features arrays have 12, 3 rows" "msg"
        }
    ]
