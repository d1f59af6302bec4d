// Vite's ?raw imports (the worker tests read docs/*.md to hold the docs to what they measure).
declare module "*.md?raw" {
	const text: string;
	export default text;
}
