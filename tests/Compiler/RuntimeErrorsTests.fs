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
                  DataException(DataErrorCodes.CsvNotANumber, "data/iris.csv", "iris.csv: row 3, column 2: `x` is not a number", row = 3)
                  NnRuntimeException("NN0612", at, "a value became NaN", [ RuntimeNote(Nullable at, "computed here") ]) ]
            let ds = errors |> List.map (fun e -> RuntimeErrors.tryDiagnostics "nn" e |> Option.get |> List.exactlyOne)
            Expect.equal (ds |> List.map (fun d -> d.Code)) [ "NN0602"; "NN0601"; "NN0203"; "NN0522"; "NN0612" ] "codes"
            Expect.equal ds[3].Message "row 3, column 2: `x` is not a number" "the file's name is the span, not repeated"
            Expect.equal ds[3].Span.File "data/iris.csv" "at the data file"
            Expect.equal ds[2].Span.File "nn" "no position: the fallback file"
            Expect.equal (ds[4].Notes |> List.map (fun n -> n.Message)) [ "computed here" ] "notes kept"
            Expect.isNone (RuntimeErrors.tryDiagnostics "nn" (InvalidOperationException "a bug")) "a bug is not a user error"
        }

        test "the nn command reports a missing gradient rule as NN0602, the prefix printed once, exit code 1" {
            let code, err = stderrOf (fun () -> Nn.Cli.Common.guarded (fun () -> raise (missingGradient ())))
            Expect.equal code 1 "exit code"
            let lines = err.TrimEnd().Split('\n') |> List.ofArray
            Expect.equal lines.Head "model.nn(3,5): error NN0602: no gradient rule for `MaxPool2dGrad` when pooling windows overlap" "first line"
            Expect.equal (List.last lines) "1 error" "footer"
        }

        test "the embedding API catches a missing gradient rule too: NnException NN0602" {
            let p = Nn.Embed.program None Map.empty Map.empty "model.nn"
            let e = Expect.throwsC (fun () -> Nn.Embed.guard p (fun () -> raise (missingGradient ()))) id
            match e with
            | :? Nn.NnException as e ->
                Expect.equal e.Code "NN0602" "code"
                Expect.equal e.Diagnostics[0].Message "no gradient rule for `MaxPool2dGrad` when pooling windows overlap" "message"
                Expect.equal (e.Diagnostics[0].Line, e.Diagnostics[0].Column) (3, 5) "position"
            | e -> failtestf "expected NnException, got %s" (e.GetType().Name)
        }
    ]
