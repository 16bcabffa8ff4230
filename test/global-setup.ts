import type { TestProject } from "vitest/node";
import { fileURLToPath } from "node:url";
import { startPrism } from "../scripts/prism";

declare module "vitest" {
  export interface ProvidedContext {
    prismUrl: string;
  }
}

/** Starts one Prism mock from spec/ for the whole run, and stops it after, whatever the tests did. */
export default async function setup(project: TestProject) {
  const prism = await startPrism(fileURLToPath(new URL("../spec/openapi.yaml", import.meta.url)));
  project.provide("prismUrl", prism.url);
  return () => prism.stop();
}
