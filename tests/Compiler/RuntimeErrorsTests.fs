/// Issue #15 point 9: runtime errors become diagnostics in one place (RuntimeErrors), from the error's code, span
/// and description; the `nn` command and the embedding API both go through it.
module Nn.Tests.Compiler.RuntimeErrorsTests

open System
open System.IO
open Expecto
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Compiler

let private at = SourceSpan("model.nn", 3, 5, 3, 12)
let private missingGradient () = MissingGradientException(OpKind.MaxPool2dGrad, at, " when pooling windows overlap")

/// Standard error while `f` runs (sequenced: Console.Error is global).
let private stderrOf (f: unit -> int) =
    let saved = Console.Error
    use w = new StringWriter()
    Console.SetError w
    try
        let code = f ()
        code, w.ToString().Replace("\r", "")
    finally
        Console.SetError saved

/// A program file with a few lines, so that both sides render the source line with carets.
let private withModel (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "nn-runtime-errors-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore
    let file = Path.Combine(dir, "model.nn")
    File.WriteAllText(file, "network net (x: [n, 2]) =\n    x\n    |> dense 3 |> relu\n    |> dense 1\n")
    try f file finally Directory.Delete(dir, true)

/// One runtime error of every kind the runtime raises for a user-actionable problem, each with the span it points
/// at (a node of `file`, a data or checkpoint file, or none) and its notes.
let private everyKind (file: string) : (string * NnRuntimeException) list =
    let at = SourceSpan(file, 3, 8, 3, 15)
    let b = GraphBuilder()
    let x = b.Input("x", Shape.Of(2, 2), at)
    let relu = b.Unary(OpKind.Relu, x, SourceSpan(file, 3, 21, 3, 25))
    let nonFinite = NonFiniteException(relu, "NaN", 3)
    [ "missing gradient", MissingGradientException(OpKind.MaxPool2dGrad, at, " when pooling windows overlap")
      "invalid graph", GraphInvalidException [ "node 3 has no shape"; "node 4 reads node 9" ]
      "shape", ShapeException("NN0203", "matmul needs equal inner sizes")
      "missing feed", ExecutionException(RuntimeCodes.MissingFeed, "no value fed for `x`", x)
      "non-finite", nonFinite
      "diverged (NaN)", TrainingDivergedException(12L, 1, 3, nonFinite)
      "diverged (loss)", TrainingDivergedException(12L, 1, 3, relu, "mse", 1e9, 1e4, 0.5)
      "data file",
      DataException(DataErrorCodes.CsvNotANumber, "data/iris.csv", "iris.csv: row 3, column 2: `x` is not a number",
                    row = 3, column = 2)
      "data request", DataException(DataErrorCodes.BadRequest, "", "batch must be a positive number of rows, not 0")
      "checkpoint",
      DataException(DataErrorCodes.CheckpointMismatch, "weights.safetensors",
                    "weights.safetensors: `w` is [2, 3] in the file, but the network's `w` is [3, 3]")
      "notes",
      NnRuntimeException("NN0612", at, "a value became NaN",
                         [ RuntimeNote(Nullable(SourceSpan(file, 4, 8, 4, 15)), "computed here")
                           RuntimeNote(Nullable(), "no place") ]) ]

[<Tests>]
let tests =
    testSequenced <| testList "Compiler.RuntimeErrors" [
        test "a missing gradient rule is NN0602 at the node's span, its message said once" {
            let d = RuntimeErrors.diagnostic "nn" (missingGradient ())
            Expect.equal d.Code "NN0602" "code"
            Expect.equal d.Message "no gradient rule for `MaxPool2dGrad` when pooling windows overlap" "message"
            Expect.equal (d.Span.File, d.Span.Start.Line, d.Span.Start.Column) ("model.nn", 3, 5) "span"
        }

        test "every runtime error is one structured type, turned into a diagnostic from its properties" {
            let errors: NnRuntimeException list =
                [ missingGradient ()
                  GraphInvalidException [ "node 3 has no shape" ]
                  ShapeException("NN0203", "matmul needs equal inner sizes")
                  DataException(
                      DataErrorCodes.CsvNotANumber,
                      "data/iris.csv",
                      "iris.csv: row 3, column 2: `x` is not a number",
                      row = 3
                  )
                  NnRuntimeException(
                      "NN0612",
                      at,
                      "a value became NaN",
                      [ RuntimeNote(Nullable at, "computed here") ]
                  ) ]
            let ds = errors |> List.map (fun e -> RuntimeErrors.tryDiagnostics "nn" e |> Option.get |> List.exactlyOne)
            Expect.equal (ds |> List.map (fun d -> d.Code)) [ "NN0602"; "NN0601"; "NN0203"; "NN0522"; "NN0612" ] "codes"
            Expect.equal
                ds[3].Message
                "row 3, column 2: `x` is not a number"
                "the file's name is the span, not repeated"
            Expect.equal ds[3].Span.File "data/iris.csv" "at the data file"
            Expect.equal ds[2].Span.File "nn" "no position: the fallback file"
            Expect.equal (ds[4].Notes |> List.map (fun n -> n.Message)) [ "computed here" ] "notes kept"
            Expect.isNone
                (RuntimeErrors.tryDiagnostics "nn" (InvalidOperationException "a bug"))
                "a bug is not a user error"
        }

        test "every runtime error kind gives the same diagnostic from the nn command and the embedding API" {
            withModel (fun file ->
                for name, e in everyKind file do
                    let code, err = stderrOf (fun () -> Nn.Cli.Common.guarded (fun () -> raise e))
                    Expect.equal code 1 (name + ": exit code")
                    let cli = err.TrimEnd()
                    Expect.isTrue (cli.EndsWith "\n1 error") (name + ": one error, the footer last: " + cli)
                    let p = Nn.Embed.program None Map.empty Map.empty "nn"
                    match Expect.throwsC (fun () -> Nn.Embed.guard p (fun () -> raise e)) id with
                    | :? Nn.NnException as api ->
                        let d = api.Diagnostics |> Seq.exactlyOne
                        Expect.equal d.Code e.Code (name + ": the error's own code")
                        Expect.equal (cli.Substring(0, cli.Length - "1 error".Length).TrimEnd()) d.Text
                            (name + ": the same text (code, span, message, source line, notes)")
                        let expected = RuntimeErrors.diagnostic "nn" e
                        let s = expected.Span
                        Expect.equal (d.Line, d.Column, d.EndLine, d.EndColumn)
                            (s.Start.Line, s.Start.Column, s.End.Line, s.End.Column)
                            (name + ": the error's span")
                        Expect.equal d.Message e.Description (name + ": the description, not the exception's text")
                    | other -> failtestf "%s: expected NnException, got %s" name (other.GetType().Name))
        }

        test "the table's spans and notes reach the rendered diagnostic" {
            withModel (fun file ->
                let ds = everyKind file |> List.map (fun (n, e) -> n, RuntimeErrors.diagnostic "nn" e) |> Map.ofList
                let gradient = ds["missing gradient"].Span
                Expect.equal (gradient.Start.Line, gradient.Start.Column) (3, 8) "node span"
                Expect.equal ds["non-finite"].Span.Start.Column 21 "the node that produced the NaN"
                Expect.equal ds["data file"].Span.File "data/iris.csv" "the data file"
                Expect.equal ds["data request"].Span.File "nn" "no file: the fallback"
                let noteLine (n: Note) = n.Span |> Option.map (fun s -> s.Start.Line)
                Expect.equal (ds["notes"].Notes |> List.map (fun n -> noteLine n, n.Message))
                    [ Some 4, "computed here"; None, "no place" ] "notes with and without a span"
                let text = Diagnostic.render (fun f -> if f = file then Some(File.ReadAllText f) else None) ds["notes"]
                Expect.stringContains text "note: computed here" "a note at its span"
                Expect.stringContains text "= note: no place" "a note without a span")
        }

        test "a runtime error without a line, met while the compiler works on a construct, is reported there" {
            let at = Span.make "model.nn" (2, 5) (2, 9)
            let note = { Span = Some(Span.make "model.nn" (1, 1) (1, 4)); Message = "the loss is `mse`" }
            let diagnosticOf (f: unit -> unit) =
                match Expect.throwsC (fun () -> RuntimeErrors.within at [ note ] f) id with
                | DiagnosticException d -> d
                | e -> failtestf "expected a diagnostic, got %s" (e.GetType().Name)
            let shapeError = ShapeException("NN0210", "`mse` needs a target of the same shape")
            let shape = diagnosticOf (fun () -> raise shapeError)
            Expect.equal (shape.Code, shape.Message) ("NN0210", "`mse` needs a target of the same shape") "shape"
            Expect.isTrue (Span.same shape.Span at) "at the construct"
            Expect.equal shape.Notes [ note ] "the caller's note"
            let dataError = DataException(DataErrorCodes.CsvEmpty, "/d/iris.csv", "iris.csv: the file is empty")
            let data = diagnosticOf (fun () -> raise dataError)
            Expect.equal (data.Code, data.Message) ("NN0520", "iris.csv: the file is empty")
                "a data error names its file"
            Expect.isTrue (Span.same data.Span at) "at the `data` field"
            let placed = MissingGradientException(OpKind.MaxPool2dGrad, SourceSpan("model.nn", 7, 1, 7, 3), "")
            Expect.throwsC (fun () -> RuntimeErrors.within at [] (fun () -> raise placed)) (fun e ->
                Expect.isTrue (obj.ReferenceEquals(e, placed)) "an error with its own line passes unchanged")
        }

        test "the nn command reports a missing gradient rule as NN0602, the prefix printed once, exit code 1" {
            let code, err = stderrOf (fun () -> Nn.Cli.Common.guarded (fun () -> raise (missingGradient ())))
            Expect.equal code 1 "exit code"
            let lines = err.TrimEnd().Split('\n') |> List.ofArray
            Expect.equal
                lines.Head
                "model.nn(3,5): error NN0602: no gradient rule for `MaxPool2dGrad` when pooling windows overlap"
                "first line"
            Expect.equal (List.last lines) "1 error" "footer"
        }

        test "the embedding API catches a missing gradient rule too: NnException NN0602" {
            let p = Nn.Embed.program None Map.empty Map.empty "model.nn"
            let e = Expect.throwsC (fun () -> Nn.Embed.guard p (fun () -> raise (missingGradient ()))) id
            match e with
            | :? Nn.NnException as e ->
                Expect.equal e.Code "NN0602" "code"
                Expect.equal
                    e.Diagnostics[0].Message
                    "no gradient rule for `MaxPool2dGrad` when pooling windows overlap"
                    "message"
                Expect.equal (e.Diagnostics[0].Line, e.Diagnostics[0].Column) (3, 5) "position"
            | e -> failtestf "expected NnException, got %s" (e.GetType().Name)
        }
    ]
