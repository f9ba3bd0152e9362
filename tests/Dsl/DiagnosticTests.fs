module Nn.Tests.Dsl.DiagnosticTests

open Expecto
open Nn.Dsl
open Nn.Tests.Generators.DslSamples

/// Source text in, the exact rendered diagnostics out.
let private case (source: string) (expected: string list) =
    test (source.Replace("\n", "⏎").Replace("\t", "⇥")) {
        match Parser.parseProgram "m.nn" source with
        | Result.Ok _ -> failtestf "expected diagnostics for:\n%s" source
        | Result.Error ds -> Expect.equal (render source ds) (String.concat "\n" expected) "rendered diagnostics"
    }

[<Tests>]
let tests =
    testList "Dsl.Diagnostics" [
        case "let x = 1 +" [
                "m.nn(1,12): error NN0106: expected an expression, but found the end of the file"
                "  |"
                "1 | let x = 1 +"
                "  |            ^" ]
        case "let x = [1; 2" [
                "m.nn(1,14): error NN0102: expected `]` to close the list, but the file ended"
                "  |"
                "1 | let x = [1; 2"
                "  |              ^"
                "m.nn(1,9): note: the list opened here"
                "  |"
                "1 | let x = [1; 2"
                "  |         ^" ]
        case "let x = (a b\nlet y = 2" [
                "m.nn(2,1): error NN0102: expected `)` to close the parenthesis, but found `let`"
                "  |"
                "2 | let y = 2"
                "  | ^^^"
                "m.nn(1,9): note: the parenthesis opened here"
                "  |"
                "1 | let x = (a b"
                "  |         ^" ]
        case "let f x =\n    let y = 1" [
                "m.nn(2,5): error NN0106: this block ends with a statement: its last line must be the result expression"
                "  |"
                "2 |     let y = 1"
                "  |     ^^^" ]
        case "let f x =\n    x + 1\n    x + 2" [
                "m.nn(3,5): error NN0103: this line starts a second expression in the block; only the last line of a \
                 block is its result"
                "  |"
                "3 |     x + 2"
                "  |     ^" ]
        case "let f x =\nx" [
                "m.nn(2,1): error NN0103: this line must be indented more than column 1 to belong to the definition \
                 above"
                "  |"
                "2 | x"
                "  | ^" ]
        case "  let x = 1" [
                "m.nn(1,3): error NN0103: a top-level declaration must start at column 1"
                "  |"
                "1 |   let x = 1"
                "  |   ^^^" ]
        case "let x =\t1" [
                "m.nn(1,8): error NN0104: tab characters are not allowed in `.nn` files; indent with spaces"
                "  |"
                "1 | let x = 1"
                "  |        ^" ]
        case "let s = \"abc" [
                "m.nn(1,9): error NN0105: this string is never closed: add a `\"` before the end of the line"
                "  |"
                "1 | let s = \"abc"
                "  |         ^" ]
        case "(* never closed\nlet x = 1" [
                "m.nn(1,1): error NN0105: this comment is never closed: `(*` needs a matching `*)`"
                "  |"
                "1 | (* never closed"
                "  | ^^" ]
        case "let s = \"a\\qb\"" [
                "m.nn(1,11): error NN0108: `\\q` is not a valid escape; use \\n, \\t, \\r, \\0, \\\\, \\\" or \\uXXXX"
                "  |"
                "1 | let s = \"a\\qb\""
                "  |           ^^" ]
        case "let x = 1e999" [
                "m.nn(1,9): error NN0109: this number is too large to represent"
                "  |"
                "1 | let x = 1e999"
                "  |         ^^^^^" ]
        case "let x = 12abc" [
                "m.nn(1,11): error NN0101: a number cannot be followed directly by a letter: `12a`"
                "  |"
                "1 | let x = 12abc"
                "  |           ^^^" ]
        case "network n (x: [n, 784] = x" [
                "m.nn(1,24): error NN0102: expected `)` to close the parameter, but found `=`"
                "  |"
                "1 | network n (x: [n, 784] = x"
                "  |                        ^"
                "m.nn(1,11): note: the parameter opened here"
                "  |"
                "1 | network n (x: [n, 784] = x"
                "  |           ^" ]
        case "network n = x" [
                "m.nn(1,11): error NN0101: expected an input like (x: [n, 784]), but found `=`"
                "  |"
                "1 | network n = x"
                "  |           ^" ]
        case "train t { lr = 0.1" [
                "m.nn(1,19): error NN0102: expected `}` to close the train block, but the file ended"
                "  |"
                "1 | train t { lr = 0.1"
                "  |                   ^"
                "m.nn(1,9): note: the train block opened here"
                "  |"
                "1 | train t { lr = 0.1"
                "  |         ^" ]
        case "train t {\n    data = rows [ [0; 0], [0]\n                 [0; 1], [1] ]\n}" [
                "m.nn(3,18): error NN0103: this line should line up with the first item at column 19"
                "  |"
                "3 |                  [0; 1], [1] ]"
                "  |                  ^" ]
        case "foo bar" [
                "m.nn(1,1): error NN0101: expected a declaration (`let`, `network`, `train` or `open`), but found `foo`"
                "  |"
                "1 | foo bar"
                "  | ^^^" ]
        case "let x = )" [
                "m.nn(1,9): error NN0106: expected an expression, but found `)`"
                "  |"
                "1 | let x = )"
                "  |         ^" ]
        case "let x = { a = 1; b }" [
                "m.nn(1,20): error NN0101: expected `=`, but found `}`"
                "  |"
                "1 | let x = { a = 1; b }"
                "  |                    ^" ]
        case "let x = 1\nlet y = ]\nlet z = (" [
                "m.nn(2,9): error NN0106: expected an expression, but found `]`"
                "  |"
                "2 | let y = ]"
                "  |         ^"
                "m.nn(3,10): error NN0106: expected an expression, but found the end of the file"
                "  |"
                "3 | let z = ("
                "  |          ^" ]
        case "open data.nn" [
                "m.nn(1,6): error NN0101: expected a file name in quotes, like \"layers.nn\", but found `data`"
                "  |"
                "1 | open data.nn"
                "  |      ^^^^" ]
        case "param w : [2] = zeros" [
                "m.nn(1,1): error NN0101: expected a declaration (`let`, `network`, `train` or `open`), but found \
                 `param`"
                "  |"
                "1 | param w : [2] = zeros"
                "  | ^^^^^" ]
        case "let x = y.[1, ]" [
                "m.nn(1,15): error NN0106: expected `..` or an expression, but found `]`"
                "  |"
                "1 | let x = y.[1, ]"
                "  |               ^" ]
        case "let x = fun -> 1" [
                "m.nn(1,13): error NN0101: expected a parameter, but found `->`"
                "  |"
                "1 | let x = fun -> 1"
                "  |             ^^" ]
        case "let x = if a then b" [
                "m.nn(1,20): error NN0101: expected `else`: `if c then a else b` needs both branches, but the file \
                 ended"
                "  |"
                "1 | let x = if a then b"
                "  |                    ^" ]
        case "let = 3" [
                "m.nn(1,5): error NN0101: expected a name, but found `=`"
                "  |"
                "1 | let = 3"
                "  |     ^" ]
        case "let f (x [n]) = x" [
                "m.nn(1,10): error NN0101: expected `:`, but found `[`"
                "  |"
                "1 | let f (x [n]) = x"
                "  |          ^" ]
        case "network n (x: [n, 2]) : n = x" [
                "m.nn(1,25): error NN0101: expected a shape like [n, 784], but found `n`"
                "  |"
                "1 | network n (x: [n, 2]) : n = x"
                "  |                         ^" ]
        case "let f x =\n    let y = 1\n   y" [
                "m.nn(3,4): error NN0103: this line should line up with the block above it at column 5"
                "  |"
                "3 |    y"
                "  |    ^" ]
        case "let x = f (g [1; 2)" [
                "m.nn(1,19): error NN0102: expected `]` to close the list, but found `)`"
                "  |"
                "1 | let x = f (g [1; 2)"
                "  |                   ^"
                "m.nn(1,14): note: the list opened here"
                "  |"
                "1 | let x = f (g [1; 2)"
                "  |              ^" ]
        case "let x = a.[0" [
                "m.nn(1,13): error NN0102: expected `]` to close the slice, but the file ended"
                "  |"
                "1 | let x = a.[0"
                "  |             ^"
                "m.nn(1,10): note: the slice opened here"
                "  |"
                "1 | let x = a.[0"
                "  |          ^^" ]
        case "let a = 1\nlet b = 2 3 +\nnetwork n (x: [n]) = x |>\ntrain n { batch = }" [
                "m.nn(3,1): error NN0106: expected an expression, but found `network`"
                "  |"
                "3 | network n (x: [n]) = x |>"
                "  | ^^^^^^^"
                "m.nn(4,19): error NN0106: expected an expression, but found `}`"
                "  |"
                "4 | train n { batch = }"
                "  |                   ^" ]
        test "nesting too deep is NN0107 at the bracket past the limit" {
            let source = "let x = " + String.replicate 600 "(" + "1" + String.replicate 600 ")"
            match Parser.parseProgram "m.nn" source with
            | Result.Error [ d ] ->
                Expect.equal (d.Code, d.Message) ("NN0107", "brackets are nested more than 500 levels deep") "code"
                // The `let` body is the first level, so the 500th bracket is the one refused.
                Expect.equal (d.Span.Start.Line, d.Span.Start.Column) (1, 9 + 499) "at the 500th bracket"
            | r -> failtestf "got %A" r
        }
        test "a deep operator chain is NN0107" {
            let source = "let x = " + String.replicate 2000 "a + " + "a"
            match Parser.parseProgram "m.nn" source with
            | Result.Error [ d ] -> Expect.equal d.Code "NN0107" "code"
            | r -> failtestf "got %A" (r |> Result.map ignore)
        }
        test "every declaration error is reported, not just the first" {
            match Parser.parseProgram "m.nn" "let a = )\nlet b = 1\nlet c = ]\nnetwork n = x" with
            | Result.Error ds -> Expect.equal (ds |> List.map (fun d -> d.Span.Start.Line)) [ 1; 3; 4 ] "lines"
            | Result.Ok _ -> failtest "expected errors"
        }
        test "an empty or blank program is NN0003 without a position" {
            for text in [ ""; "  \n\n"; "// only a comment\n" ] do
                match Parser.parseProgram "m.nn" text with
                | Result.Error [ d ] ->
                    Expect.equal d.Code "NN0003" text
                    Expect.equal (Diagnostic.render (fun _ -> Some text) d)
                        "m.nn: error NN0003: the file is empty: a program needs at least one declaration" "render"
                | r -> failtestf "got %A" r
        }
        test "a diagnostic about a whole file never reads that file (a 150 MB checkpoint was read as text, #16.7)" {
            let d =
                Diagnostic.error "NN0702" (Span.make "model.safetensors" (0, 0) (0, 0)) "the header length is too large"
            let rendered = Diagnostic.render (fun f -> failtestf "the source of %s was read" f) d
            Expect.equal rendered "model.safetensors: error NN0702: the header length is too large" "no excerpt"
        }
        test "parseExpr rejects trailing text" {
            match Parser.parseExpr "e" "a b )" with
            | Result.Error [ d ] ->
                Expect.equal (d.Code, d.Message) ("NN0101", "unexpected `)` after the end of the expression") "diag"
            | r -> failtestf "got %A" r
        }
    ]
