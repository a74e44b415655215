// Package num holds the numeric predicates that settings validation,
// plotting and the simulator's configuration share, so that each has one
// definition.
package num
