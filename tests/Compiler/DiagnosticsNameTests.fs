/// Name and value errors (NN03xx): each program with its exact rendered diagnostics.
module Nn.Tests.Compiler.DiagnosticsNameTests

open System.IO
open Expecto
open Nn.Dsl
open Nn.Compiler
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Name" [
        case "NN0301 several unknown names at once with suggestions" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x |> relu2 |> tanhh |> sigmoid
"""
            """
test.nn(2,10): error NN0301: `relu2` is not defined; did you mean `relu`?
  |
2 |     x |> relu2 |> tanhh |> sigmoid
  |          ^^^^^
test.nn(2,19): error NN0301: `tanhh` is not defined; did you mean `tanh`?
  |
2 |     x |> relu2 |> tanhh |> sigmoid
  |                   ^^^^^"""

        case "NN0301 unknown name in a function that is never called" errors
            """
let unused (x: [n, k]) = x |> softmaxx

network t (x: [n, 4]) : [n, 4] =
    x
"""
            """
test.nn(1,31): error NN0301: `softmaxx` is not defined; did you mean `softmax`?
  |
1 | let unused (x: [n, k]) = x |> softmaxx
  |                               ^^^^^^^^"""

        case "NN0301 a let cannot call itself" errors
            """
let f x = f x

network t (x: [n, 4]) : [n, 4] =
    x
"""
            ("""
test.nn(1,11): error NN0301: `f` is not defined yet inside its own definition: a `let` cannot call itself (use"""
             + """ `repeat` or `List.fold` to repeat a layer)
  |
1 | let f x = f x
  |           ^""")

        case "NN0302 a string where a size is needed, at the call of dense" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x |> dense "ten"
"""
            """
test.nn(2,16): error NN0302: expected a size (a whole number or a dimension variable), but this is a string
  |
2 |     x |> dense "ten"
  |                ^^^^^
   = note: in `dense`, a function of the prelude"""

        case "NN0302 a bad width inside the prelude's tower, at the call" errors
            """
network t (x: [n, 4]) : [n, 3] =
    x |> tower relu [8; "a"] |> dense 3
"""
            """
test.nn(2,10): error NN0302: expected a size (a whole number or a dimension variable), but this is a string
  |
2 |     x |> tower relu [8; "a"] |> dense 3
  |          ^^^^^^^^^^^^^^^^^^^
   = note: in `tower`, a function of the prelude"""

        case "NN0306 a negative count for repeat, at the user's argument" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x |> repeat (-1) (dense 4)
"""
            """
test.nn(2,17): error NN0306: `List.init` needs a count from 0 to 100000, got -1
  |
2 |     x |> repeat (-1) (dense 4)
  |                 ^^^^
   = note: in `repeat`, a function of the prelude"""

        case "NN0302 a fractional count for repeat" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x |> repeat 2.5 (dense 4)
"""
            """
test.nn(2,17): error NN0302: expected a whole number, got 2.5
  |
2 |     x |> repeat 2.5 (dense 4)
  |                 ^^^
   = note: in `repeat`, a function of the prelude"""

        case "NN0302 a size too large is said as written, not as 1e+09 or \"an integer\"" errors
            """
network t (x: [n, 4]) : [n, 1000000000] =
    x |> dense 1000000000
"""
            """
test.nn(2,16): error NN0302: a size must be a whole number from 0 to 999999999 (or a dimension variable), got 1000000000
  |
2 |     x |> dense 1000000000
  |                ^^^^^^^^^^
   = note: in `dense`, a function of the prelude"""

        case "NN0302 a string in tensor arithmetic" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x + "a"
"""
            """
test.nn(2,9): error NN0302: `+` needs a tensor or a number on the right, but this is a string
  |
2 |     x + "a"
  |         ^^^"""

        case "NN0302 if on a tensor" errors
            """
network t (x: [n, 4]) : [n, 4] =
    if x then x else x
"""
            ("""
test.nn(2,8): error NN0302: `if` needs a condition the compiler can decide (a boolean), but this is a tensor of shape"""
             + """ [n, 4]
  |
2 |     if x then x else x
  |        ^""")

        case "NN0303 applying a number" errors
            """
network t (x: [n, 4]) : [n, 4] =
    let k = 3
    x |> k
"""
            """
test.nn(3,10): error NN0303: an integer is not a function, so it cannot be applied to an argument
  |
3 |     x |> k
  |          ^"""

        case "NN0304 calls nested too deep" errors
            """
let deep = List.init 1000 (fun i -> i)

network t (x: [n, 4]) : [n, 4] =
    List.fold (fun acc _ -> fun y -> acc y) (fun y -> y) deep x
"""
            """
test.nn(4,38): error NN0304: calls nested more than 400 deep
  |
4 |     List.fold (fun acc _ -> fun y -> acc y) (fun y -> y) deep x
  |                                      ^^^^^"""

        case "NN0305 static division by zero" errors
            """
let size = 10 / 0

network t (x: [n, 4]) : [n, 4] =
    x
"""
            """
test.nn(1,12): error NN0305: division by zero
  |
1 | let size = 10 / 0
  |            ^^^^^^"""

        case "NN0306 dropout probability" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x |> dropout 1.5
"""
            """
test.nn(2,18): error NN0306: `dropout` needs a probability in [0, 1), got 1.5
  |
2 |     x |> dropout 1.5
  |                  ^^^"""

        case "NN0306 conv2d setting, at its name" errors
            """
network t (x: [n, 8, 8, 1]) : [n, 8, 8, 1] =
    param k : [3, 3, 1, 1] = he
    conv2d { stride = 1; pad = 1 } k x
"""
            """
test.nn(3,26): error NN0306: `conv2d` has no setting `pad` (it has `stride` and `padding`)
  |
3 |     conv2d { stride = 1; pad = 1 } k x
  |                          ^^^"""

        case "NN0306 conv2d stride, at its value" errors
            """
network t (x: [n, 8, 8, 1]) : [n, 8, 8, 1] =
    param k : [3, 3, 1, 1] = he
    conv2d { padding = same; stride = 0 } k x
"""
            """
test.nn(3,39): error NN0306: `conv2d` needs a positive stride, got 0
  |
3 |     conv2d { padding = same; stride = 0 } k x
  |                                       ^"""

        case "NN0306 conv2d padding, at its value in the let that holds the settings" errors
            """
let opts = { stride = 1; padding = -2 }

network t (x: [n, 8, 8, 1]) : [n, 8, 8, 1] =
    param k : [3, 3, 1, 1] = he
    conv2d opts k x
"""
            """
test.nn(1,36): error NN0306: `conv2d` needs a padding of 0 or more, got -2
  |
1 | let opts = { stride = 1; padding = -2 }
  |                                    ^^"""

        case "NN0306 conv2d padding of the wrong kind, at its value" errors
            """
network t (x: [n, 8, 8, 1]) : [n, 8, 8, 1] =
    param k : [3, 3, 1, 1] = he
    conv2d { padding = "same" } k x
"""
            """
test.nn(3,24): error NN0302: `conv2d` expects padding `same`, `valid` or a number, but got a string
  |
3 |     conv2d { padding = "same" } k x
  |                        ^^^^^^"""

        case "NN0306 pool window, at the size" errors
            """
network t (x: [n, 8, 8, 1]) : [n, 4, 4, 1] =
    x |> avgPool2d -2
"""
            """
test.nn(2,20): error NN0306: `avgPool2d` needs a positive window size, got -2
  |
2 |     x |> avgPool2d -2
  |                    ^^"""

        case "NN0307 record field with a suggestion" errors
            """
let cfg = { width = 4; depth = 2 }

network t (x: [n, 4]) : [n, 4] =
    x |> dense cfg.widht
"""
            """
test.nn(4,16): error NN0307: the record `cfg` has no field `widht`; did you mean `width`?
  |
4 |     x |> dense cfg.widht
  |                ^^^^^^^^^"""

        case "NN0308 duplicate field without a repeated unknown name" errors
            """
let cfg = { width = 4; width = 2 }

network t (x: [n, 4]) : [n, 4] =
    x |> dense cfg.width
"""
            """
test.nn(1,24): error NN0308: the field `width` is given twice
  |
1 | let cfg = { width = 4; width = 2 }
  |                        ^^^^^"""

        case "NN0309 bad initializer" errors
            """
network t (x: [n, 4]) : [n, 4] =
    param w : [4, 4] = "glorot"
    x @ w
"""
            """
test.nn(2,24): error NN0309: `param w` needs an initializer such as `glorot` or `zeros`, but this is a string
  |
2 |     param w : [4, 4] = "glorot"
  |                        ^^^^^^^^"""

        case "NN0302 a top-level let cannot hold a tensor (its state would belong to no network)" errors
            """
let c =
    state s : [4] = zeros
    s

network t (x: [n, 4]) : [n, 4] =
    x + c
"""
            ("""
test.nn(1,5): error NN0302: `c` is a tensor, but a top-level `let` holds only static values (numbers, lists, records,"""
             + """ functions); declare tensors inside a network or a function, such as `let c x = ...`
  |
1 | let c =
  |     ^""")

        case "NN0309 a state that is neither an initializer nor a tensor" errors
            """
network t (x: [n, 4]) : [n, 4] =
    state c = "a"
    x
"""
            ("""
test.nn(2,15): error NN0309: `state c` needs an initializer such as `zeros`, or a tensor to compute from the training"""
             + """ rows, but this is a string
  |
2 |     state c = "a"
  |               ^^^""")

        case "NN0311 duplicate network" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x

network t (x: [n, 4]) : [n, 4] =
    x |> relu
"""
            """
test.nn(4,9): error NN0311: a network named `t` is already declared
  |
4 | network t (x: [n, 4]) : [n, 4] =
  |         ^"""

        case "errors in two networks are both reported" errors
            """
network a (x: [n, 4]) : [n, 3] =
    x |> dense 5

network b (x: [n, 4]) : [n, 4] =
    param w : [3, 4] = glorot
    x @ w
"""
            """
test.nn(1,25): error NN0212: the output of `a` should have the shape [n, 3], but it is [n, 5] (axis 1 is 5, not 3)
  |
1 | network a (x: [n, 4]) : [n, 3] =
  |                         ^^^^^^
test.nn(2,5): note: the body computes [n, 5]
  |
2 |     x |> dense 5
  |     ^^^^^^^^^^^^
test.nn(6,7): error NN0203: `@` needs the inner sizes to agree, but the left side is [n, 4] and the right side is [3, 4]
  |
6 |     x @ w
  |       ^"""

        test "NN0310 an `open` cycle across files names the chain, at the user's `open`" {
            let dir = Directory.CreateTempSubdirectory("nn-open-").FullName
            try
                File.WriteAllText(
                    Path.Combine(dir, "a.nn"),
                    "open \"b.nn\"\n\nnetwork t (x: [n, 4]) : [n, 4] =\n    x\n"
                )
                File.WriteAllText(Path.Combine(dir, "b.nn"), "open \"a.nn\"\n\nlet width = 4\n")
                match Compile.compileFile (Path.Combine(dir, "a.nn")) with
                | Ok _ -> failtest "expected a cycle"
                | Error ds ->
                    let shown =
                        ds |> List.map (fun d ->
                            let d = { d with Span = d.Span.WithFile(Path.GetFileName d.Span.File) }
                            Diagnostic.render (fun f -> Some(File.ReadAllText(Path.Combine(dir, f)))) d)
                    Expect.equal (String.concat "\n" shown) (String.concat "\n" [
                        "b.nn(1,1): error NN0310: `open` makes a cycle: a.nn -> b.nn -> a.nn"
                        "  |"
                        "1 | open \"a.nn\""
                        "  | ^^^^^^^^^^^" ]) "cycle"
            finally Directory.Delete(dir, true)
        }

        test "NN0001 an `open`ed file that does not exist is reported at the `open`" {
            let text = "open \"missing.nn\"\n\nnetwork t (x: [n, 4]) : [n, 4] =\n    x\n"
            let shown = errors text
            Expect.stringStarts shown "test.nn(1,1): error NN0001: " "code and place"
            Expect.stringContains shown "missing.nn" "names the file"
        }
    ]
