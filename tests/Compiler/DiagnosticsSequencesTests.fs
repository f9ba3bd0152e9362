/// Errors of slicing, `unstack`, `stack` and `gather` (NN0220–NN0224, NN0546): each program with its exact rendered
/// diagnostic.
module Nn.Tests.Compiler.DiagnosticsSequencesTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Sequences" [
        case "NN0220 an index outside the axis" errors
            """
network t (x: [n, 5, 3]) : [n, 3] =
    x.[*, 5, *]
"""
            """
test.nn(2,11): error NN0220: index 5 is outside axis 1 of [n, 5, 3] (0..4)
  |
2 |     x.[*, 5, *]
  |           ^"""

        case "NN0220 an empty range" errors
            """
network t (x: [n, 5, 3]) : [n, 3] =
    x.[*, *, 2..1]
"""
            """
test.nn(2,14): error NN0220: slice 2..1 is outside axis 2 of [n, 5, 3] (0..2)
  |
2 |     x.[*, *, 2..1]
  |              ^^^^"""

        case "NN0220 unstack over the batch axis" errors
            """
network t (x: [n, 5, 3]) : [n, 3] =
    x |> unstack 0 |> List.fold (fun a s -> a + s) 0.0
"""
            """
test.nn(2,10): error NN0220: `unstack` needs an axis of fixed size, but axis 0 of [n, 5, 3] has the variable size n
  |
2 |     x |> unstack 0 |> List.fold (fun a s -> a + s) 0.0
  |          ^^^^^^^^^"""

        case "NN0221 more slice entries than axes" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x.[*, *, 0]
"""
            """
test.nn(2,5): error NN0221: 3 slice entries for a value with 2 axes ([n, 4])
  |
2 |     x.[*, *, 0]
  |     ^^^^^^^^^^^"""

        case "NN0222 stack of tensors of different shapes" errors
            """
network t (x: [n, 4]) : [n, 2, 4] =
    stack 1 [ x; x.[*, 0..2] ]
"""
            """
test.nn(2,13): error NN0222: `stack` needs tensors of one shape, but item 0 is [n, 4] and item 1 is [n, 3]
  |
2 |     stack 1 [ x; x.[*, 0..2] ]
  |             ^^^^^^^^^^^^^^^^^^"""

        case "NN0222 stack of an empty list" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x + stack 0 []
"""
            """
test.nn(2,17): error NN0222: `stack` needs at least one tensor, but the list is empty
  |
2 |     x + stack 0 []
  |                 ^^"""

        case "NN0223 gather from a table that is not a matrix" errors
            """
network t (ids: [n, 3]) : [n, 3, 4] =
    param table : [10, 4, 1] = normal 0.1
    gather table ids
"""
            """
test.nn(3,5): error NN0223: `gather` needs a table [v, d] of fixed sizes, but got [10, 4, 1]
  |
3 |     gather table ids
  |     ^^^^^^^^^^^^^^^^"""

        case "NN0224 ids computed from a parameter" errors
            """
network t (x: [n, 3]) : [n, 3, 4] =
    param table : [10, 4] = normal 0.1
    param scale : [3] = ones
    gather table (x * scale)
"""
            ("""
test.nn(4,18): error NN0224: `gather` needs ids that are data (whole numbers from an input), but these depend on the"""
             + """ parameter `scale`
  |
4 |     gather table (x * scale)
  |                  ^^^^^^^^^^^""")

        case "NN0224 ids that are a number" errors
            """
network t (x: [n, 4]) : [4] =
    param table : [10, 4] = normal 0.1
    gather table 3
"""
            """
test.nn(3,18): error NN0224: `gather` needs its ids as a tensor of whole numbers, but got an integer
  |
3 |     gather table 3
  |                  ^"""
    ]
