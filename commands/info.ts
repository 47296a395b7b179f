/**
 * (being written)
 *
 * @module
 */
import type { CommandSpec } from "./spec.ts";

export const infoCommands: CommandSpec[] = [];
