module Nn.Tests.Compiler.EmbeddingTests

open System
open System.IO
open Expecto
open Nn

/// XOR as a host program would embed it: no `data` field, the rows come from Fit.
let xorSource =
    """network xor (x: [n, 2]) : [n, 1] =
    x |> dense 8 |> tanh |> dense 1 |> sigmoid

train xor {
    loss      = binaryCrossEntropy
    optimizer = sgd { lr = 0.5; momentum = 0.9 }
    batch     = 4
    epochs    = 500
    seed      = 1
}
"""

let xorX = array2D [ [ 0f; 0f ]; [ 0f; 1f ]; [ 1f; 0f ]; [ 1f; 1f ] ]
let xorY = array2D [ [ 0f ]; [ 1f ]; [ 1f ]; [ 0f ] ]

let model (source: string) =
    let r = NnModel.Compile(source, "test.nn")
    if not r.Success then failtestf "did not compile:\n%s" r.ErrorText
    r.Model

let trainedXor =
    lazy (
        let trainer = (model xorSource).CreateTrainer()
        let result = trainer.Fit(xorX, xorY)
        trainer, result)

/// The exception an action raises, which must be an NnException.
let nnError (f: unit -> 'a) =
    try
        f () |> ignore
        failtest "expected an NnException"
    with :? NnException as e -> e

let tempFile () = Path.Combine(Path.GetTempPath(), sprintf "nn-embedding-%s.safetensors" (Guid.NewGuid().ToString "N"))

[<Tests>]
let tests =
    testList "Compiler.Embedding" [
        test "a shape error comes back as a diagnostic with code, line, column and rendered text" {
            let source = "let w = 3\nnetwork bad (x: [n, 4]) : [n, 2] =\n    x |> dense 3\n"
            let r = NnModel.Compile(source, "bad.nn")
            Expect.isFalse r.Success "the program is rejected"
            Expect.isNull r.Model "no model"
            let d = r.Diagnostics[0]
            Expect.equal d.Code "NN0212" "the declared output does not match"
            Expect.equal (d.FileName, d.Line, d.Column) ("bad.nn", 2, 27) "the span of the output annotation"
            Expect.equal d.Severity "error" "severity"
            Expect.stringStarts d.Text "bad.nn(2,27): error NN0212: " "rendered with the given file name"
            Expect.stringContains d.Text "2 | network bad (x: [n, 4]) : [n, 2] =" "shows the source line"
            Expect.equal r.ErrorText d.Text "one diagnostic"
        }

        test "a syntax error and an unknown name are diagnostics, not exceptions" {
            let r = NnModel.Compile("network net (x: [n, 2]) : [n, 1] =\n    x |> dense 1 |> sigmod\n", "typo.nn")
            Expect.isFalse r.Success "rejected"
            Expect.equal r.Diagnostics[0].Code "NN0301" "unknown name"
            Expect.stringContains r.Diagnostics[0].Message "sigmoid" "suggests the right name"
            Expect.equal (r.Diagnostics[0].Line, r.Diagnostics[0].Column) (2, 21) "at the typo"
            let r = NnModel.Compile("network net (x: [n, 2] =\n", "syntax.nn")
            Expect.isFalse r.Success "rejected"
            Expect.isGreaterThan r.Diagnostics[0].Line 0 "a positioned parse error"
            let e = nnError (fun () -> r.EnsureSuccess())
            Expect.equal e.Diagnostics.Count r.Diagnostics.Count "with the same diagnostics"
        }

        test "a missing file is a diagnostic" {
            let r = NnModel.CompileFile(Path.Combine(Path.GetTempPath(), "no-such-file.nn"))
            Expect.equal r.Diagnostics[0].Code "NN0001" "cannot read"
        }

        test "networks, shapes and parameter paths are listed" {
            let m = model xorSource
            Expect.equal (m.Networks |> Seq.map (fun n -> n.Name) |> List.ofSeq) [ "xor" ] "one network"
            Expect.equal (string m.InputShape) "[n, 2]" "input shape"
            Expect.equal m.InputShape.Sizes [| -1; 2 |] "the batch axis is variable"
            Expect.equal m.InputShape.Names [| "n"; null |] "its name"
            Expect.equal (string m.OutputShape) "[n, 1]" "output shape"
            let ps = m.Parameters |> Seq.map (fun p -> p.Path, p.Shape.Sizes, p.Initializer) |> List.ofSeq
            Expect.equal
                ps
                [ "dense1.w", [| 2; 8 |], "glorot"
                  "dense1.b", [| 8 |], "zeros"
                  "dense2.w", [| 8; 1 |], "glorot"
                  "dense2.b", [| 1 |], "zeros" ]
                "paths, shapes, initializers"
            Expect.equal m.Network.ParameterCount 33L "2*8 + 8 + 8 + 1"
            Expect.equal (List.ofSeq m.TrainableNetworks) [ "xor" ] "the train block's network"
        }

        test "states are listed after the parameters" {
            let m = model "network net (x: [n, 3]) : [n, 1] =\n    x |> batchNorm |> dense 1\n"
            let states = m.Parameters |> Seq.filter (fun p -> p.IsState) |> Seq.map (fun p -> p.Path) |> List.ofSeq
            Expect.equal states [ "batchNorm1.mean"; "batchNorm1.var" ] "running statistics"
        }

        test "training XOR through the API reaches a small loss and predicts every row" {
            let trainer, result = trainedXor.Force()
            Expect.equal result.History.Count 500 "every epoch ran"
            Expect.isLessThan result.FinalLoss 0.05 "loss below 0.05"
            Expect.equal result.Steps 500L "one batch per epoch"
            Expect.equal (trainer.PredictClasses xorX) [| 0; 1; 1; 0 |] "XOR"
            let p = trainer.Predict xorX
            Expect.equal (Array2D.length1 p, Array2D.length2 p) (4, 1) "one output per row"
        }

        test "F# doubles work like C# floats" {
            let trainer = (model xorSource).CreateTrainer(TrainerOptions(Epochs = Nullable 2))
            let x = Array2D.map float xorX
            let before = trainer.Predict x
            trainer.Fit(x, Array2D.map float xorY) |> ignore
            Expect.notEqual (trainer.Predict x) before "the weights changed"
        }

        test "save then load gives identical predictions" {
            let trainer, _ = trainedXor.Force()
            let path = tempFile ()
            try
                trainer.Save path
                let session = (model xorSource).LoadSession path
                Expect.equal (session.Predict xorX) (trainer.Predict xorX) "bit-identical predictions"
                Expect.equal
                    (session.GetParameter("dense1.w").ToArray())
                    (trainer.GetParameter("dense1.w").ToArray())
                    "same weights"
                let fresh = (model xorSource).CreateSession()
                Expect.notEqual (fresh.Predict xorX) (trainer.Predict xorX) "a fresh session differs"
            finally File.Delete path
        }

        test "loading weights of another network is a clear error" {
            let trainer, _ = trainedXor.Force()
            let path = tempFile ()
            try
                trainer.Save path
                let other = model "network wide (x: [n, 3]) : [n, 1] =\n    x |> dense 8 |> tanh |> dense 1\n"
                let e = nnError (fun () -> other.LoadSession path)
                Expect.equal e.Code "NN0708" "a tensor of the wrong shape"
                Expect.stringContains
                    e.Message
                    "`dense1.w` is [2, 8] in the file, but the network's `dense1.w` is [3, 8]"
                    "names both shapes"
            finally File.Delete path
            let e = nnError (fun () -> (model xorSource).LoadSession(tempFile ()))
            Expect.equal e.Code "NN0701" "a missing file"
        }

        test "features of the wrong width are a clear error" {
            let trainer = (model xorSource).CreateTrainer()
            let wide = Array2D.create 4 3 0f
            let e = nnError (fun () -> trainer.Fit(wide, xorY))
            Expect.equal e.Code "NN0550" "code"
            Expect.stringContains
                e.Message
                "the features have the shape [4, 3] (rows of [3]), but the network `xor` takes [n, 2] (rows of [2])"
                "message"
            let e = nnError (fun () -> trainer.Predict wide)
            Expect.equal e.Code "NN0550" "predict checks too"
        }

        test "targets that do not fit are a clear error" {
            let trainer = (model xorSource).CreateTrainer()
            let e = nnError (fun () -> trainer.Fit(xorX, Array2D.create 3 1 0f))
            Expect.stringContains e.Message "the features have 4 rows but the targets have 3" "row counts"
            let e = nnError (fun () -> trainer.Fit(xorX, Array2D.create 4 2 0f))
            Expect.equal e.Code "NN0551" "code"
            Expect.stringContains
                e.Message
                "the targets have rows of [2], but the network `xor` outputs rows of [1]"
                "widths"
        }

        test "class labels train a softmax classifier" {
            let source =
                "network clf (x: [n, 2]) : [n, 3] =\n    x |> dense 16 |> tanh |> dense 3\n\n"
                + "train clf {\n    loss = softmaxCrossEntropy\n    metrics = [accuracy]\n"
                + "    optimizer = adam { lr = 0.05 }\n    batch = 16\n    epochs = 60\n}\n"
            let rng = Random 5
            let labels = Array.init 90 (fun i -> i % 3)
            let x =
                Array2D.init 90 2 (fun i j ->
                    float32 (if j = labels[i] then 2.0 else 0.0) + float32 (rng.NextDouble() * 0.5))
            let trainer = (model source).CreateTrainer()
            let result = trainer.Fit(x, labels)
            Expect.isGreaterThan result.History[result.History.Count - 1].Metrics["accuracy"] 0.95 "accuracy metric"
            Expect.equal (trainer.PredictClasses x) labels "every class right"
            let e = nnError (fun () -> trainer.Fit(x, Array.create 90 3))
            Expect.equal e.Code "NN0540" "a label outside 0..2"
        }

        test "Fit rejects targets outside the loss's range before the first step, naming the row and value" {
            for labels, row, value in [ [| 0; 1; 2; 0 |], 3, "2"; [| 0; -1; 1; 0 |], 2, "-1" ] do
                let trainer = (model xorSource).CreateTrainer()
                let seen = ResizeArray()
                trainer.EpochCompleted.Add(fun e -> seen.Add e.Loss)
                let e = nnError (fun () -> trainer.Fit(xorX, labels))
                Expect.equal e.Code "NN0545" "code"
                Expect.stringContains
                    e.Message
                    (sprintf "row %d of the targets: the target %s is outside [0, 1]" row value)
                    "row and value"
                Expect.isEmpty seen "no epoch ran"
            let trainer = (model xorSource).CreateTrainer()
            let e = nnError (fun () -> trainer.Fit(xorX, array2D [ [ 0f ]; [ 1f ]; [ 1f ]; [ 1.5f ] ]))
            Expect.stringContains e.Message "row 4 of the targets: the target 1.5 is outside [0, 1]" "float targets too"
        }

        test "CreateTrainer rejects crossEntropy on scores set by the options (NN0421)" {
            let o = TrainerOptions()
            o.Settings["loss"] <- "crossEntropy"
            let m =
                model (
                    "network clf (x: [n, 2]) : [n, 3] =\n    x |> dense 3\n\n"
                    + "train clf {\n    loss = softmaxCrossEntropy\n}\n"
                )
            Expect.equal (nnError (fun () -> m.CreateTrainer o)).Code "NN0421" "code"
        }

        test "warnings come with the compiled model" {
            let r =
                NnModel.Compile(
                    "network clf (x: [n, 2]) : [n, 3] =\n    x |> dense 3 |> softmax\n\n"
                    + "train clf {\n    loss = softmaxCrossEntropy\n}\n",
                    "w.nn"
                )
            Expect.isTrue r.Success "compiles"
            Expect.equal
                (r.Warnings |> Seq.map (fun d -> d.Code, d.Severity, d.Line) |> List.ofSeq)
                [ "NN0422", "warning", 5 ]
                "the double softmax"
            Expect.isEmpty r.Diagnostics "no errors"
        }

        test "options override the block, and a handler can stop training" {
            let m = model xorSource
            let trainer =
                m.CreateTrainer(TrainerOptions(Epochs = Nullable 3, BatchSize = Nullable 2, Seed = Nullable 9))
            Expect.equal (trainer.Epochs, trainer.BatchSize, trainer.Seed) (3, 2, 9) "overridden"
            let seen = ResizeArray()
            trainer.EpochCompleted.Add(fun e -> seen.Add e.Epoch)
            let r = trainer.Fit(xorX, xorY)
            Expect.equal (List.ofSeq seen) [ 1; 2; 3 ] "one event per epoch"
            Expect.equal r.Steps 6L "two batches per epoch"
            let o = TrainerOptions()
            o.Settings["optimizer"] <- "adam { lr = 0.01 }"
            let stopper = m.CreateTrainer o
            Expect.equal stopper.Optimizer "adam" "a setting as program text"
            stopper.EpochCompleted.Add(fun e -> if e.Epoch = 2 then e.Stop())
            let r = stopper.Fit(xorX, xorY)
            Expect.equal r.History.Count 2 "stopped after the second epoch"
            Expect.isTrue r.StoppedEarly "reported"
            let bad = TrainerOptions()
            bad.Settings["epoch"] <- "3"
            Expect.equal (nnError (fun () -> m.CreateTrainer bad)).Code "NN0401" "an unknown field"
        }

        test "a program without a train block gives sessions but no trainer" {
            let m = model "network net (x: [n, 2]) : [n, 1] =\n    x |> dense 1\n"
            Expect.throwsT<InvalidOperationException> (fun () -> m.CreateTrainer() |> ignore) "no train block"
            let out = m.CreateSession().Predict(NnTensor.FromArray([| 1f; 2f |], 1, 2))
            Expect.equal out.Shape [| 1; 1 |] "predicts with initial weights"
        }
    ]
