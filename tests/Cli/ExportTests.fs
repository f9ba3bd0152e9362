module Nn.Tests.Cli.ExportTests

open System
open System.IO
open System.Text.Json
open Expecto
open Microsoft.ML.OnnxRuntime
open Nn.Runtime.Data
open Nn.Tests.TestUtil

let private nn = runNn []

/// A CSV file's rows encoded from an ONNX model's `nn.table` metadata alone (as a user of the model would, without
/// `nn`): a number column as it is, a categorical column one-hot over its vocabulary; columns found by header name.
let private encodeFromMetadata (tableJson: string) (csv: string) =
    let lines = File.ReadAllLines csv
    let header = lines[0].Split(',')
    let columns = JsonDocument.Parse(tableJson).RootElement.GetProperty("columns").EnumerateArray() |> List.ofSeq
    let rows =
        [| for line in lines[1..] do
               let cells = line.Split(',')
               [| for c in columns do
                      let cell = cells[Array.IndexOf(header, c.GetProperty("name").GetString())]
                      match c.GetProperty("kind").GetString() with
                      | "number" -> yield float32 (Double.Parse(cell, Globalization.CultureInfo.InvariantCulture))
                      | "categorical" ->
                          for v in c.GetProperty("values").EnumerateArray() do
                              yield (if v.GetString() = cell then 1f else 0f)
                      | k -> failtestf "kind %s" k |] |]
    HostTensor([| rows.Length; rows[0].Length |], Array.concat rows)

[<Tests>]
let tests =
    testList "Cli.Export" [
        test "nn export of a trained regression runs in ONNX Runtime as nn predict (1e-5 relative, 7 rows)" {
            let dir = exampleSandbox "nn-export-" [ "regression.nn" ]
            let code, _, err = nn dir [ "train"; "regression.nn"; "--set"; "epochs=1"; "--out"; "run" ]
            Expect.equal code 0 (sprintf "train: %s" err)
            let code, out, err = nn dir [ "export"; "regression.nn"; "--weights"; "run"; "--out"; "curve.onnx" ]
            Expect.equal code 0 (sprintf "export: %s" err)
            Expect.stringContains out "wrote `curve` to curve.onnx (ONNX opset 17" "report"
            let x = HostTensor([| 7; 1 |], Array.init 7 (fun i -> float32 i * 0.5f - 1.5f))
            Npy.Write(Path.Combine(dir, "x.npy"), x)
            let code, _, err =
                nn dir [ "predict"; "regression.nn"; "--weights"; "run"; "--input"; "x.npy"; "--out"; "y.npy" ]
            Expect.equal code 0 (sprintf "predict: %s" err)
            let expected = Npy.ReadHost(Path.Combine(dir, "y.npy"))
            let actual =
                Nn.Tests.Compiler.ExportTests.runOnnx (File.ReadAllBytes(Path.Combine(dir, "curve.onnx"))) [ "x", x ]
            let d = Nn.Tests.Compiler.ExportTests.maxRelative actual expected
            Expect.isLessThanOrEqual d 1e-5 "max relative difference"
            Expect.isFalse (File.Exists(Path.Combine(dir, "curve.onnx.tmp"))) "no temporary file left"
        }
        test "the file nn export writes passes the ONNX checker; its inferred output shape is nn's [n, 1]" {
            let dir = exampleSandbox "nn-export-" [ "xor.nn" ]
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=1"; "--out"; "run" ]
            Expect.equal code 0 (sprintf "train: %s" err)
            let code, _, err = nn dir [ "export"; "xor.nn"; "--weights"; "run"; "--out"; "xor.onnx" ]
            Expect.equal code 0 (sprintf "export: %s" err)
            let shape = Nn.Tests.Compiler.ExportTests.checkOnnx (File.ReadAllBytes(Path.Combine(dir, "xor.onnx")))
            Expect.equal shape "n 1" "inferred output shape"
        }
        test ("house_prices (a categorical column, standardize): ONNX Runtime on rows encoded from the model's "
              + "metadata = nn predict on the CSV (1e-5 relative, batch 1 and 2000)") {
            let dir = exampleSandbox "nn-export-" [ "house_prices.nn"; "data/houses.csv" ]
            let code, _, err = nn dir [ "train"; "house_prices.nn"; "--set"; "epochs=2"; "--out"; "run" ]
            Expect.equal code 0 (sprintf "train: %s" err)
            let code, _, err = nn dir [ "export"; "house_prices.nn"; "--weights"; "run"; "--out"; "priced.onnx" ]
            Expect.equal code 0 (sprintf "export: %s" err)
            let code, _, err =
                nn dir [ "predict"; "house_prices.nn"; "--weights"; "run"; "--input"; "data/houses.csv"
                         "--out"; "y.npy" ]
            Expect.equal code 0 (sprintf "predict: %s" err)
            let expected = Npy.ReadHost(Path.Combine(dir, "y.npy"))
            let model = File.ReadAllBytes(Path.Combine(dir, "priced.onnx"))
            use session = new InferenceSession(model)
            let meta = session.ModelMetadata
            Expect.stringContains meta.Description "`location` one-hot over [" "the doc_string tells the encoding"
            let x = encodeFromMetadata meta.CustomMetadataMap["nn.table"] (Path.Combine(dir, "data", "houses.csv"))
            Expect.sequenceEqual x.Shape [| 2000; 10 |] "4 numbers and 6 neighbourhoods per row"
            let actual = Nn.Tests.Compiler.ExportTests.runOnnx model [ "x", x ]
            Expect.isLessThanOrEqual (Nn.Tests.Compiler.ExportTests.maxRelative actual expected) 1e-5 "all rows"
            let first = HostTensor([| 1; 10 |], x.Data[0..9])
            let one = Nn.Tests.Compiler.ExportTests.runOnnx model [ "x", first ]
            let d = Nn.Tests.Compiler.ExportTests.maxRelative one (HostTensor([| 1; 1 |], expected.Data[0..0]))
            Expect.isLessThanOrEqual d 1e-5 "batch 1"
        }
        test "nn export --opset 12 is NN0721 with exit code 1; without --out, a usage error" {
            let dir = exampleSandbox "nn-export-" [ "xor.nn" ]
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=1"; "--out"; "run" ]
            Expect.equal code 0 (sprintf "train: %s" err)
            let code, _, err = nn dir [ "export"; "xor.nn"; "--weights"; "run"; "--out"; "m.onnx"; "--opset"; "12" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "error NN0721: --opset 12 is not supported" "diagnostic"
            Expect.isFalse (File.Exists(Path.Combine(dir, "m.onnx"))) "nothing written"
            let code, _, err = nn dir [ "export"; "xor.nn"; "--weights"; "run" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "needs --out" "names the missing option"
        }
    ]
