/// The loss against what the network computes and against the data (issue #15.2, #15.3, #15.7): targets outside
/// the loss's range at the row that holds them (NN0540, NN0545), `crossEntropy` on scores (NN0421), a softmax
/// before `softmaxCrossEntropy` (warning NN0422), a network with several inputs fed by data of one input (NN0442).
module Nn.Tests.Compiler.DiagnosticsLossTests

open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Compiler
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Loss" [
        case "NN0545 a binaryCrossEntropy target of 2, at its row of `rows`" planErrors
            """
network xor (x: [n, 2]) : [n, 1] =
    x |> dense 4 |> tanh |> dense 1 |> sigmoid

train xor {
    data = rows [ [0; 0], [0]
                  [0; 1], [2]
                  [1; 1], [0] ]
    loss = binaryCrossEntropy
}
"""
            ("""
test.nn(6,27): error NN0545: row 2 of `rows`: the target 2 is outside [0, 1]; `binaryCrossEntropy` compares"""
             + """ probabilities (0 or 1 for two classes): any other value trains its loss below zero
  |
6 |                   [0; 1], [2]
  |                           ^^^
test.nn(8,12): note: the loss is `binaryCrossEntropy`
  |
8 |     loss = binaryCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^""")

        case "NN0545 a negative binaryCrossEntropy target among several outputs names the target" planErrors
            """
network tags (x: [n, 1]) : [n, 2] =
    x |> dense 2 |> sigmoid

train tags {
    data = rows [ [0], [0; 1]
                  [1], [1; -1] ]
    loss = binaryCrossEntropy
}
"""
            ("""
test.nn(6,24): error NN0545: row 2 of `rows`, target 2: the target -1 is outside [0, 1]; `binaryCrossEntropy`"""
             + """ compares probabilities (0 or 1 for two classes): any other value trains its loss below zero
  |
6 |                   [1], [1; -1] ]
  |                        ^^^^^^^
test.nn(7,12): note: the loss is `binaryCrossEntropy`
  |
7 |     loss = binaryCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^""")

        case "NN0540 a class label outside the output's classes" planErrors
            """
network clf (x: [n, 2]) : [n, 3] =
    x |> dense 3

train clf {
    data = rows [ [0; 0], [0]
                  [0; 1], [5] ]
    loss = softmaxCrossEntropy
}
"""
            ("""
test.nn(6,27): error NN0540: row 2 of `rows`: the label 5 is not a class of `clf`: its output has 3 classes, so"""
             + """ `softmaxCrossEntropy` needs class numbers 0 to 2
  |
6 |                   [0; 1], [5] ]
  |                           ^^^
test.nn(7,12): note: the loss is `softmaxCrossEntropy`
  |
7 |     loss = softmaxCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^^""")

        case "NN0540 a CSV class the network has no output for: the file, its row and the label" planErrors
            """
network iris (x: [n, 4]) : [n, 2] =
    x |> dense 2 |> softmax

train iris {
    data = csv "data/iris.csv" { features = [0; 1; 2; 3]; label = "species" }
    shuffle = true
    loss = crossEntropy
}
"""
            ("""
test.nn(5,12): error NN0540: iris.csv row 102, column 5 (species): the label `virginica` (the data's class 2,"""
             + """ counting from 0) is not a class of `iris`: its output has 2 classes, so `crossEntropy` needs class"""
             + """ numbers 0 to 1
  |
5 |     data = csv "data/iris.csv" { features = [0; 1; 2; 3]; label = "species" }
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
test.nn(7,12): note: the loss is `crossEntropy`
  |
7 |     loss = crossEntropy
  |            ^^^^^^^^^^^^""")

        case "NN0545 a negative probability in a target distribution" planErrors
            """
network clf (x: [n, 1]) : [n, 2] =
    x |> dense 2

train clf {
    data = rows [ [0], [1; -0.5] ]
    loss = softmaxCrossEntropy
}
"""
            ("""
test.nn(5,24): error NN0545: row 1 of `rows`, target 2: the target -0.5 is outside [0, 1]; `softmaxCrossEntropy` with"""
             + """ a target per class compares probabilities
  |
5 |     data = rows [ [0], [1; -0.5] ]
  |                        ^^^^^^^^^
test.nn(6,12): note: the loss is `softmaxCrossEntropy`
  |
6 |     loss = softmaxCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^^""")

        test "NN0540 an IDX label the network has no class for: the labels file and its item" {
            let text =
                "network m (x: [n, 28, 28]) : [n, 5] =\n    x |> flatten |> dense 5\n\ntrain m {\n"
                + "    data = idx \"data/mnist10k-images-idx3-ubyte.gz\" \"data/mnist10k-labels-idx1-ubyte.gz\"\n"
                + "    loss = softmaxCrossEntropy\n}\n"
            let first = (planErrors text).Split('\n')[0]
            Expect.equal
                first
                ("test.nn(5,12): error NN0540: mnist10k-labels-idx1-ubyte.gz item 2: the label 9 is not a class of `m`:"
                 + " its output has 5 classes, so `softmaxCrossEntropy` needs class numbers 0 to 4")
                "first line"
        }

        test "NN0545 an NPY target outside [0, 1]: the targets file and its row" {
            let dir = Path.Combine(Path.GetTempPath(), "nn-targets-" + System.Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            Npy.Write(Path.Combine(dir, "x.npy"), HostTensor([| 3; 2 |], Array.zeroCreate 6))
            Npy.Write(Path.Combine(dir, "y.npy"), HostTensor([| 3 |], [| 0f; 1f; 3f |]))
            let text =
                sprintf
                    "network m (x: [n, 2]) : [n, 1] =\n    x |> dense 1 |> sigmoid\n\ntrain m {\n    \
                     data = npy \"%s/x.npy\" \"%s/y.npy\"\n    loss = binaryCrossEntropy\n}\n"
                    dir
                    dir
            let first = (planErrors text).Split('\n')[0]
            Expect.equal
                first
                ("test.nn(5,12): error NN0545: y.npy row 3: the target 3 is outside [0, 1]; `binaryCrossEntropy` "
                 + "compares probabilities (0 or 1 for two classes): any other value trains its loss below zero")
                "first line"
            Directory.Delete(dir, true)
        }

        test "targets that fit their loss train (labels 0..k-1, probabilities, any regression value)" {
            for net, data, loss in
                [ "[n, 1] =\n    x |> dense 1 |> sigmoid",
                  "[0], [0]\n                  [1], [1]\n                  [2], [0.25]",
                  "binaryCrossEntropy"
                  "[n, 3] =\n    x |> dense 3", "[0], [0]\n                  [1], [2]", "softmaxCrossEntropy"
                  "[n, 3] =\n    x |> dense 3 |> softmax", "[0], [0.2; 0.3; 0.5]", "crossEntropy"
                  "[n, 1] =\n    x |> dense 1", "[0], [-7]\n                  [1], [250]", "mse" ] do
                let text =
                    sprintf
                        "network m (x: [n, 1]) : %s\n\ntrain m {\n    data = rows [ %s ]\n    loss = %s\n}\n"
                        net
                        data
                        loss
                match Compile.compileText file text with
                | Error ds -> failtestf "%s: %A" loss ds
                | Ok c -> TrainPlan.create c c.Trains.Head |> ignore
        }

        case "NN0421 crossEntropy on scores, found by nn check" errors
            """
network clf (x: [n, 2]) : [n, 3] =
    x |> dense 8 |> relu |> dense 3

train clf {
    data = rows [ [0; 0], [0] ]
    loss = crossEntropy
}
"""
            ("""
test.nn(6,12): error NN0421: `crossEntropy` expects probabilities (a `softmax` at the end of the network), but the"""
             + """ output of `clf` is not a softmax: on raw scores the loss falls to 0 without learning anything; use"""
             + """ `softmaxCrossEntropy` on the scores, or end `clf` with `softmax`
  |
6 |     loss = crossEntropy
  |            ^^^^^^^^^^^^
test.nn(2,29): note: the output of `clf` is computed here, not by a `softmax`
  |
2 |     x |> dense 8 |> relu |> dense 3
  |                             ^^^^^^^""")

        case "NN0422 warning: softmax before softmaxCrossEntropy, with the fix" warnings
            """
network clf (x: [n, 2]) : [n, 3] =
    x |> dense 3 |> softmax

train clf {
    data = rows [ [0; 0], [0] ]
    loss = softmaxCrossEntropy
}
"""
            ("""
test.nn(6,12): warning NN0422: `softmaxCrossEntropy` applies softmax to the scores itself, but the output of `clf`"""
             + """ already ends with `softmax` (a double softmax trains slowly and badly)
  |
6 |     loss = softmaxCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^^
test.nn(2,18): note: fix: remove `|> softmax` (the loss applies it), or keep it and write `loss = crossEntropy`
  |
2 |     x |> dense 3 |> softmax
  |                  ^^^^^^^^^^""")

        case "NN0422 a softmax called directly: the fix points at the call" warnings
            """
network clf (x: [n, 2]) : [n, 3] =
    softmax (dense 3 x)

train clf {
    data = rows [ [0; 0], [0] ]
    loss = softmaxCrossEntropy
}
"""
            ("""
test.nn(6,12): warning NN0422: `softmaxCrossEntropy` applies softmax to the scores itself, but the output of `clf`"""
             + """ already ends with `softmax` (a double softmax trains slowly and badly)
  |
6 |     loss = softmaxCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^^
test.nn(2,5): note: fix: remove this `softmax` (the loss applies it), or keep it and write `loss = crossEntropy`
  |
2 |     softmax (dense 3 x)
  |     ^^^^^^^^^^^^^^^^^^^""")

        case "NN0442 a network with several inputs fed by a source of one input, at `data`" errors
            """
network two (a: [n, 2]) (b: [n, 3]) : [n, 1] =
    concat 1 [a; b] |> dense 1

train two {
    data = rows [ [0; 0], [0] ]
    loss = mse
}
"""
            ("""
test.nn(5,12): error NN0442: `rows` feeds one input, but `two` takes 2: give one list of columns per input """
             + """(csv "f.csv" { features = [[..]; [..]] }) or one file per input (npy ["a.npy"; "b.npy"] ..)
  |
5 |     data = rows [ [0; 0], [0] ]
  |            ^^^^^^^^^^^^^^^^^^^^
test.nn(1,9): note: `two` takes 2 inputs (`a`, `b`)
  |
1 | network two (a: [n, 2]) (b: [n, 3]) : [n, 1] =
  |         ^^^""")

        test "a network with several inputs that is never trained still checks" {
            let text = "network two (a: [n, 2]) (b: [n, 3]) : [n, 1] =\n    concat 1 [a; b] |> dense 1\n"
            match Compile.compileText file text with
            | Ok c -> Expect.equal c.Networks.Length 1 "compiles"
            | Error ds -> failtestf "%A" ds
        }

        test "NN0442 also when `nn train --network` picks a network with several inputs" {
            let text =
                "network one (x: [n, 2]) : [n, 1] =\n    x |> dense 1\n\n"
                + "network two (a: [n, 2]) (b: [n, 3]) : [n, 1] =\n    concat 1 [a; b] |> dense 1\n\n"
                + "train one {\n    data = rows [ [0; 0], [0] ]\n    loss = mse\n}\n"
            match Compile.compileText file text with
            | Error ds -> failtestf "%A" ds
            | Ok c ->
                let td, env = c.Trains.Head
                try
                    TrainPlan.create c ({ td with Network = "two" }, env) |> ignore
                    failtest "expected NN0442"
                with Nn.Dsl.DiagnosticException d -> Expect.equal d.Code "NN0442" "code"
        }
    ]
