export { freePort, startPrism, type RunningPrism } from "../../scripts/prism";
