/** An agent module whose default export is not an agent (the loader must say so in one line). */
export default { systemPrompt: 'x', greeting: 'y' };
