/// `validation = csv "val.csv" ..` (ValidationData and TrainConfig): the errors the compiler finds in the program
/// (NN0450-NN0452) and those found when the validation file is read against the training rows (NN0580-NN0583),
/// each with its exact message.
module Nn.Tests.Compiler.DiagnosticsValidationDataTests

open System.IO
open Expecto
open Nn.Dsl
open Nn.Compiler
open Nn.Tests
open Nn.Tests.Compiler.DiagnosticsHelpers

/// A classifier of 2 features trained on `train.csv` (a, b, label), with `validation` as written.
let private program (data: string) (validation: string) =
    """network t (x: [n, 2]) : [n, 2] =
    x |> dense 2

train t {
    data       = DATA
    validation = VALIDATION
    loss       = softmaxCrossEntropy
}
"""
        .Replace("DATA", data).Replace("VALIDATION", validation)

let private train = "a,b,label\n0,1,cat\n1,0,dog\n1,1,cat\n"

/// The rendered diagnostic of planning `text` (compiled as dir/test.nn) with the files `files` in dir.
let private planIn (files: (string * string) list) (text: string) =
    TestUtil.withTempDir "nn-valdata-" (fun dir ->
        for name, content in files do File.WriteAllText(Path.Combine(dir, name), content)
        match Compile.compileText (Path.Combine(dir, "test.nn")) text with
        | Error ds -> ds |> List.map (render text) |> String.concat "\n"
        | Ok c ->
            try
                TrainPlan.create c c.Trains.Head |> ignore
                "planned"
            with DiagnosticException d -> (render text d).Replace(dir, "DIR"))

let private csvData = "csv \"train.csv\" { features = [\"a\"; \"b\"]; label = \"label\" }"

let private case name files validation (expected: string) =
    test name {
        let text = program csvData validation
        Expect.equal (planIn files text) (expected.TrimStart '\n') "rendered diagnostic"
    }

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.ValidationData" [
        DiagnosticsHelpers.case "NN0450 validation in another form than data" errors
            (program "csv \"data/iris.csv\" { label = \"species\" }" "npy \"x.npy\" \"y.npy\"")
            ("""
test.nn(6,18): error NN0450: `validation` reads `npy`, but `data` reads `csv`: the validation """
             + """rows are read as the training rows, so give them as `csv` too
  |
6 |     validation = npy "x.npy" "y.npy"
  |                  ^^^^^^^^^^^^^^^^^^^""")

        DiagnosticsHelpers.case "NN0450 validation is a bare file name" errors
            (program "csv \"data/iris.csv\" { label = \"species\" }" "\"val.csv\"")
            ("""
test.nn(6,18): error NN0450: `validation` is a fraction in [0, 1) or a data source in the form """
             + """of `data`, such as `csv "val.csv"`, but this is a string
  |
6 |     validation = "val.csv"
  |                  ^^^^^^^^^""")

        DiagnosticsHelpers.case "NN0451 validation reads other CSV columns" errors
            (program "csv \"data/iris.csv\" { features = [0; 1]; label = \"species\" }"
                "csv \"val.csv\" { label = \"species\" }")
            ("""
test.nn(6,18): error NN0451: `validation` reads every column but the label as features, """
             + """label "species", but `data` reads features [0; 1], label "species": """
             + """leave out `{ ... }` to read the """
             + """columns of `data`
  |
6 |     validation = csv "val.csv" { label = "species" }
  |                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        DiagnosticsHelpers.case "NN0452 validation images without the labels data has" errors
            (program "idx \"i.gz\" \"l.gz\"" "idx \"vi.gz\"")
            ("""
test.nn(6,18): error NN0452: `data` has a labels file, so `validation` needs one too: the """
             + """validation loss compares with it
  |
6 |     validation = idx "vi.gz"
  |                  ^^^^^^^^^^^""")

        DiagnosticsHelpers.case "NN0452 validation targets where data has none" errors
            (program "npy \"x.npy\"" "npy \"vx.npy\" \"vy.npy\"")
            ("""
test.nn(6,18): error NN0452: `data` has no targets file, so `validation` takes none either (the """
             + """target comes from `target`)
  |
6 |     validation = npy "vx.npy" "vy.npy"
  |                  ^^^^^^^^^^^^^^^^^^^^^""")

        DiagnosticsHelpers.case "NN0580 validation rows of another width than those of data (nn check finds it)" errors
            (program "rows [ [0; 1], [1]; [1; 0], [0] ]" "rows [ [0; 1; 1], [1] ]")
            ("""
test.nn(6,18): error NN0580: the validation rows have 3 features and 1 target values, but the rows of `data` """
             + """have 2 and 1
  |
6 |     validation = rows [ [0; 1; 1], [1] ]
  |                  ^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0581 a validation label the training data does not have" [ "train.csv", train; "val.csv",
            "a,b,label\n0,0,dog\n1,1,bird\n" ] "csv \"val.csv\""
            ("""
test.nn(6,18): error NN0581: val.csv row 3, column 3 (label): the label `bird` is not a class """
             + """of the training data (its classes are `cat`, `dog`)
  |
6 |     validation = csv "val.csv"
  |                  ^^^^^^^^^^^^^""")

        test "NN0580 validation rows of another width (every column but the label)" {
            let text =
                program "csv \"train.csv\" { label = \"label\" }" "csv \"val.csv\""
            let files = [ "train.csv", train; "val.csv", "a,b,c,label\n0,0,0,dog\n" ]
            Expect.equal (planIn files text) ("""
test.nn(6,18): error NN0580: val.csv has rows of shape [3], but the training rows have [2]: both are read the same way
  |
6 |     validation = csv "val.csv"
  |                  ^^^^^^^^^^^^^""".TrimStart '\n') "rendered diagnostic"
        }

        test "NN0582 validation targets of another width; NN0583 a validation file of no rows" {
            TestUtil.withTempDir "nn-valdata-npy-" (fun dir ->
                let write name shape (data: float32[]) =
                    Nn.Runtime.Data.Npy.Write(Path.Combine(dir, name), Nn.Runtime.Data.HostTensor(shape, data))
                write "x.npy" [| 2; 2 |] [| 0f; 1f; 1f; 0f |]
                write "y.npy" [| 2; 2 |] [| 1f; 0f; 0f; 1f |]
                write "vy.npy" [| 1; 3 |] [| 1f; 0f; 0f |]
                write "vx.npy" [| 1; 2 |] [| 0f; 1f |]
                write "ex.npy" [| 0; 2 |] [||]
                write "ey.npy" [| 0; 2 |] [||]
                let plan (validation: string) =
                    let text = (program "npy \"x.npy\" \"y.npy\"" validation).Replace("softmaxCrossEntropy", "mse")
                    match Compile.compileText (Path.Combine(dir, "test.nn")) text with
                    | Error ds -> failtestf "%A" ds
                    | Ok c ->
                        try
                            TrainPlan.create c c.Trains.Head |> ignore
                            "planned"
                        with DiagnosticException d -> render text d
                Expect.equal (plan "npy \"vx.npy\" \"vy.npy\"") ("""
test.nn(6,18): error NN0582: vx.npy has targets of shape [3] per row, but the training targets have [2]
  |
6 |     validation = npy "vx.npy" "vy.npy"
  |                  ^^^^^^^^^^^^^^^^^^^^^""".TrimStart '\n') "NN0582"
                Expect.equal (plan "npy \"ex.npy\" \"ey.npy\"") ("""
test.nn(6,18): error NN0583: ex.npy has no rows
  |
6 |     validation = npy "ex.npy" "ey.npy"
  |                  ^^^^^^^^^^^^^^^^^^^^^""".TrimStart '\n') "NN0583")
        }

        case "NN0501 a validation file that is not there, at `validation`" [ "train.csv", train ]
            "csv \"missing.csv\""
            """
test.nn(6,18): error NN0501: missing.csv: file not found (looked for DIR/missing.csv)
  |
6 |     validation = csv "missing.csv"
  |                  ^^^^^^^^^^^^^^^^^"""
    ]
