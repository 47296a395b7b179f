/**
 * (being written)
 *
 * @module
 */
import type { CommandSpec } from "./spec.ts";

export const keyCommands: CommandSpec[] = [];
