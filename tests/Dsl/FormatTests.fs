module Nn.Tests.Dsl.FormatTests

open Expecto
open Nn.Dsl
open Nn.Tests.Generators
open Nn.Tests.Generators.DslSamples

let private fmt (text: string) =
    match Printer.formatSource "t.nn" text with
    | Result.Ok s -> s
    | Result.Error ds -> failtestf "format failed:\n%s" (render text ds)

let private config = { FsCheckConfig.defaultConfig with arbitrary = [ typeof<FormatArbitraries> ]; maxTest = 300 }

/// The columns at which the lines' `//` comments start.
let private commentColumns (text: string) =
    text.Split '\n' |> Array.filter (fun l -> l.Contains "//") |> Array.map (fun l -> l.IndexOf "//") |> List.ofArray

/// Comments lined up by hand (each off by at most one column) end in one column, idempotently.
let private handAligned (HandAlignedComments(fields, padding, offsets)) =
    let code = fields |> List.map (fun (n, v) -> sprintf "    %s = %d" n v)
    let column = (code |> List.map String.length |> List.max) + padding
    let lines = List.map2 (fun (c: string) o -> c.PadRight(column + o) + "// note") code offsets
    let source = String.concat "\n" ("train m {" :: lines @ [ "}"; "" ])
    let once = fmt source
    Expect.equal (fmt once) once "idempotent"
    let columns = commentColumns once
    Expect.equal columns.Length fields.Length "every comment kept"
    Expect.equal (List.distinct columns).Length 1 (sprintf "one column:\n%s" once)
    Expect.isGreaterThanOrEqual columns.Head column "not moved left of the source's column"

[<Tests>]
let tests =
    testList "Dsl.Format" [
        testList "examples format idempotently, keep their AST and every comment" [
            for (name, text) in examples ->
                test name {
                    let once = fmt text
                    Expect.equal (fmt once) once "idempotent"
                    Expect.equal (parseOk once) (parseOk text) "same AST"
                    let count (s: string) = (s.Split "//").Length
                    Expect.equal (count once) (count text) "comments kept"
                }
        ]
        test "canonical layout" {
            let source =
                "let  f x=x+1\nnetwork m (x:[n,2]):[n,1]=\n  x\n  |> dense 1 |>relu\n"
                + "train m {batch=4;epochs=10; optimizer = adam {lr=1e-3}}"
            let expected =
                String.concat "\n" [
                    "let f x = x + 1"
                    ""
                    "network m (x: [n, 2]) : [n, 1] ="
                    "    x"
                    "    |> dense 1 |> relu"
                    ""
                    "train m {"
                    "    batch     = 4"
                    "    epochs    = 10"
                    "    optimizer = adam { lr = 1e-3 }"
                    "}"
                    "" ]
            Expect.equal (fmt source) expected "formatted"
        }
        test "state declarations keep their optional shape" {
            let source =
                "let f x =\n  state c:[3]=constant 2.0\n  state   m=mean 0 x // adapted\n"
                + "  state s : [1,3] = sumAll x\n  x - m"
            let expected =
                "let f x =\n    state c : [3] = constant 2.0\n    state m = mean 0 x // adapted\n"
                + "    state s : [1, 3] = sumAll x\n    x - m\n"
            Expect.equal (fmt source) expected "formatted"
            Expect.equal (fmt expected) expected "idempotent"
        }
        test "the prelude is formatted canonically" {
            Expect.equal (fmt Nn.Compiler.Prelude.source) Nn.Compiler.Prelude.source "prelude.nn is its own formatting"
        }
        test "comments stay where they were" {
            let source = "// header\n\n/// doc\nlet x = 1 // one\n// before y\nlet y = [ 1 // first\n          2 ]\n"
            let expected =
                "// header\n\n/// doc\nlet x = 1 // one\n\n// before y\nlet y = [ 1 // first\n          2 ]\n"
            Expect.equal (fmt source) expected "formatted"
        }
        test "formatExpr prints one line" {
            Expect.equal (Printer.formatExpr (exprOk "fun x->x.[0..1,*] |>f (-1) { a=1 }"))
                "fun x -> x.[0..1, *] |> f (-1) { a = 1 }" "expr"
        }
        test "F# slices print back as written: one index, a range, open ends" {
            let source = "let y = x.[ *,3,* ] + x.[*, 1..5, *].[*,..4, *] + x.[*, 2.., *]\n"
            let expected = "let y = x.[*, 3, *] + x.[*, 1..5, *].[*, ..4, *] + x.[*, 2.., *]\n"
            Expect.equal (fmt source) expected "formatted"
            Expect.equal (parseOk expected) (parseOk source) "same AST"
        }
        test "negative arguments and subtractions print back as written" {
            let source = "let y = x |> clip -1.0 1.0 |> f -(a + b) - g-1 - -c\n"
            let expected = "let y = x |> clip -1.0 1.0 |> f -(a + b) - g - 1 - -c\n"
            Expect.equal (fmt source) expected "formatted"
            Expect.equal (parseOk expected) (parseOk source) "same AST"
        }
        test "numbers print back to the same value and kind" {
            for (v, isInt, text) in [ 1.0, true, "1"; 1.0, false, "1.0"; 0.001, false, "1e-3"; 0.05, false, "0.05"
                                      1e20, false, "1e20"; 255.0, false, "255.0" ] do
                Expect.equal (Printer.formatNumber v isInt) text (string v)
        }
        test "numbers keep the source's spelling" {
            let source = "let a = 1e-2\n\nlet b = 0.50\n\nlet c = 1E3 * 2.5e+3 - 0.000001\n\nlet d = clip -1.0 007 x\n"
            Expect.equal (fmt source) source "unchanged"
            let relaid = "let a = 1e-2\n\nlet b = [0.50; 1.0E-4]\n"
            Expect.equal (fmt "let  a=1e-2\nlet b =[0.50;1.0E-4]") relaid "relaid, same numbers"
        }
        testPropertyWithConfig config "any number literal keeps its spelling" (fun (NumberLiteral n) ->
            let source = sprintf "let x = %s\n" n
            Expect.equal (fmt source) source "unchanged")
        test "trailing comments lined up in the source stay lined up" {
            let source =
                String.concat "\n" [
                    "train m {"
                    "  data = idx \"images.gz\"     // no labels file"
                    "  target = input / 255.0                      // the scaled input"
                    "  batch = 4 // one blank"
                    "}"
                    "let d = [ 1    // one"
                    "          22   // two"
                    "          3 ]  // three"
                    "let e = 1          // lined up with a comment further away"
                    "" ]
            let expected =
                String.concat "\n" [
                    "train m {"
                    "    data   = idx \"images.gz\"                  // no labels file"
                    "    target = input / 255.0                    // the scaled input"
                    "    batch  = 4 // one blank"
                    "}"
                    ""
                    "let d = [ 1    // one"
                    "          22   // two"
                    "          3 ]  // three"
                    ""
                    "let e = 1          // lined up with a comment further away"
                    "" ]
            Expect.equal (fmt source) expected "formatted"
            Expect.equal (fmt expected) expected "idempotent"
        }
        test "lined-up comments move right together when the code grows past them" {
            let source = "train m {\na = 1    // x\nbbb = 22 // y\n}\n"
            let expected = "train m {\n    a   = 1  // x\n    bbb = 22 // y\n}\n"
            Expect.equal (fmt source) expected "one column, one blank after the longest line"
        }
        testPropertyWithConfig config "comments lined up by hand end in one column, idempotently" handAligned
        test "formatProgram keeps doc comments" {
            let p = parseOk "/// Adds one.\nlet inc x = x + 1"
            Expect.equal (Printer.formatProgram p) "/// Adds one.\nlet inc x = x + 1\n" "text"
        }
    ]
