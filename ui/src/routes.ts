// Hash routes of the single page (the server only ever serves /ui/): pure parsing.
export type Route =
  | { page: "deployments" }
  | { page: "new-deployment" }
  | { page: "deployment"; name: string }
  | { page: "edit-deployment"; name: string }
  | { page: "models" }
  | { page: "model"; name: string }
  | { page: "environments"; build?: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [section, name, action] = parts;
  if (section === "models") return name ? { page: "model", name } : { page: "models" };
  if (section === "environments") return name === "builds" && action ? { page: "environments", build: action } : { page: "environments" };
  if (section === "deployments" && name === "new") return { page: "new-deployment" };
  if (section === "deployments" && name && action === "edit") return { page: "edit-deployment", name };
  if (section === "deployments" && name) return { page: "deployment", name };
  return { page: "deployments" };
}

export function href(route: Route): string {
  switch (route.page) {
    case "deployments":
      return "#/deployments";
    case "new-deployment":
      return "#/deployments/new";
    case "deployment":
      return `#/deployments/${encodeURIComponent(route.name)}`;
    case "edit-deployment":
      return `#/deployments/${encodeURIComponent(route.name)}/edit`;
    case "models":
      return "#/models";
    case "model":
      return `#/models/${encodeURIComponent(route.name)}`;
    case "environments":
      return route.build ? `#/environments/builds/${encodeURIComponent(route.build)}` : "#/environments";
  }
}

/** The navigation entry a route belongs to. */
export function section(route: Route): "deployments" | "models" | "environments" {
  if (route.page === "models" || route.page === "model") return "models";
  if (route.page === "environments") return "environments";
  return "deployments";
}
