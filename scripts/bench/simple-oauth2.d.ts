// simple-oauth2 ships no types; the benchmark uses this much of it.
declare module "simple-oauth2" {
  export class ClientCredentials {
    constructor(options: { client: { id: string; secret: string }; auth: { tokenHost: string; tokenPath?: string } });
    getToken(params: { scope?: string | string[] }): Promise<unknown>;
  }
  const simpleOauth2: { ClientCredentials: typeof ClientCredentials };
  export default simpleOauth2;
}
