package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newQueueCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List, pause and resume queues",
		Args:  usageArgs(cobra.NoArgs),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List queues with their job count per state",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := g.openOps(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer o.Close()
			res, err := o.Queues(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, res)
			}
			return printQueueTable(g.stdout, res.Queues)
		},
	}
	cmd.AddCommand(list, newQueueToggleCmd(g, true), newQueueToggleCmd(g, false))
	return cmd
}

func newQueueToggleCmd(g *globals, pause bool) *cobra.Command {
	use, short := "resume NAME", "Let workers claim jobs of a paused queue again"
	if pause {
		use, short = "pause NAME", "Stop workers from claiming jobs of a queue (running jobs finish)"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			o, err := g.openOps(cmd.Context(), !pause)
			if err != nil {
				return err
			}
			defer o.Close()
			if pause {
				err = o.Pause(cmd.Context(), pos[0])
			} else {
				err = o.Resume(cmd.Context(), pos[0])
			}
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, map[string]any{"name": pos[0], "paused": pause})
			}
			word := "resumed"
			if pause {
				word = "paused"
			}
			fmt.Fprintf(g.stdout, "queue %s %s\n", pos[0], word)
			return nil
		},
	}
}
